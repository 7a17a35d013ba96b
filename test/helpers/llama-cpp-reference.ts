// llama.cpp as a reference for tests, through node-llama-cpp's prebuilt CPU binary (no build, no
// download): log-probabilities at every position of a prompt and of teacher-forced decode steps,
// and llama.cpp's own tokenization of a text.
//
// node-llama-cpp has no raw-logits API. With temperature 0 (its default) the sampler chain is greedy
// only, which leaves the logits untouched, and asking for `probabilities` returns softmax over the
// whole vocabulary; log p is then the log-softmax row, exact up to float32 rounding (~1e-7).
// The K/V cache is F32 and flash attention off: an F16 cache, or flash attention (which casts K/V
// to F16), moves log-probs by ~1e-2 on tiny random models.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { ControlledEvaluateIndexOutput, ControlledEvaluateInputItem, Llama, Token } from 'node-llama-cpp';

export interface LlamaCppOptions {
  /** CPU threads of the context; default 1 (tiny test models gain nothing from more). */
  readonly threads?: number;
}

export interface LlamaCppTokenizeOptions {
  /** Add the BOS / EOS tokens the vocabulary asks for (llama_tokenize's add_special). */
  readonly addSpecial: boolean;
  /** Turn the text of control tokens into those tokens (llama_tokenize's parse_special). */
  readonly parseSpecial: boolean;
}

const WANT_PROBABILITIES = { generateNext: { probabilities: true } } as const;

async function withLlama<T>(run: (llama: Llama) => Promise<T>): Promise<T> {
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  });
  try {
    return await run(llama);
  } finally {
    await llama.dispose();
  }
}

/**
 * Row i of the result is log p(next token | tokens[0..i]) over the full vocabulary, in float64:
 * one row per prompt position (one prefill batch), then one per `decode` token, each fed alone over
 * the K/V cache. llama.cpp's probabilities are float32, so a token whose log-prob is below about
 * -103 comes back as probability 0 and its entry is -Infinity; compare finite entries only on
 * sharply peaked rows.
 */
export async function llamaCppLogProbs(ggufPath: string, prompt: readonly number[], decode: readonly number[], options: LlamaCppOptions = {}): Promise<Float64Array[]> {
  if (prompt.length === 0) throw new Error('llamaCppLogProbs: the prompt needs at least one token');
  return withLlama(async (llama) => {
    const model = await llama.loadModel({ modelPath: ggufPath, gpuLayers: 0 });
    try {
      const context = await model.createContext({
        // node-llama-cpp shifts a full context (drops its oldest tokens) before evaluating more, so
        // leave room beyond the last token; llama.cpp rounds the size up to 256 anyway.
        contextSize: Math.ceil((prompt.length + decode.length + 1) / 256) * 256,
        batchSize: prompt.length,
        sequences: 1,
        threads: options.threads ?? 1,
        flashAttention: false,
        experimentalKvCacheKeyType: 'F32',
        experimentalKvCacheValueType: 'F32',
      });
      try {
        const sequence = context.getSequence();
        const asked = (t: number): ControlledEvaluateInputItem => [t as Token, WANT_PROBABILITIES];
        const prefill = await sequence.controlledEvaluate(prompt.map(asked));
        const rows = prompt.map((_, i) => logRow(prefill[i], i));
        for (const t of decode) {
          const [step] = await sequence.controlledEvaluate([asked(t)]);
          rows.push(logRow(step, rows.length));
        }
        return rows;
      } finally {
        await context.dispose();
      }
    } finally {
      await model.dispose();
    }
  });
}

function logRow(output: ControlledEvaluateIndexOutput | undefined, position: number): Float64Array {
  const probabilities = output?.next.probabilities;
  if (!probabilities) throw new Error(`llama.cpp returned no probabilities at position ${position}`);
  // The map holds every vocabulary id (the greedy chain drops none).
  const row = new Float64Array(probabilities.size).fill(-Infinity);
  for (const [id, p] of probabilities) {
    if (id >= row.length) throw new Error(`llama.cpp returned token id ${id} outside a vocabulary of ${row.length} at position ${position}`);
    row[id] = Math.log(p);
  }
  return row;
}

/** llama.cpp's token ids for `text`, from the GGUF's vocabulary alone (no weights are loaded). */
export async function llamaCppTokenize(ggufPath: string, text: string, options: LlamaCppTokenizeOptions): Promise<number[]> {
  return withLlama(async (llama) => {
    const model = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
    try {
      const ids: number[] = [...model.tokenize(text, options.parseSpecial)];
      if (!options.addSpecial) return ids;
      // node-llama-cpp always tokenizes with add_special = false; add what llama_tokenize would.
      const { bos, eos, shouldPrependBosToken, shouldAppendEosToken } = model.tokens;
      if (shouldPrependBosToken && bos !== null) ids.unshift(bos);
      if (shouldAppendEosToken && eos !== null) ids.push(eos);
      return ids;
    } finally {
      await model.dispose();
    }
  });
}
