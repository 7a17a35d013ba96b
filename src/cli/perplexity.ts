// `tessera perplexity`: held-out perplexity of a text file, as llama.cpp's perplexity tool measures it.
//
// Protocol (tools/train/ppl.py computes the same, so training and inference numbers compare):
// the file is tokenized without special tokens and cut into consecutive windows of context-1
// tokens; each window is prefilled as [BOS] + its tokens in a fresh sequence, and only its second
// half is scored: the targets at positions context/2 .. context-1, each from the logits one
// position earlier, so every scored token sees at least context/2 tokens (and sparse attention
// is active once context/2 exceeds the indexer's top-k). A tail shorter than a window is not
// scored. PPL = exp(mean NLL over the scored targets).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import type { CausalLM } from '../models/model.js';
import { SingleSequence } from '../engine/single-sequence.js';
import { loadTokenizer } from '../tokenizer/index.js';
import { UsageError } from './cli-error.js';
import { backendFromFlags, modelDirFlag, parsePositiveInt, requireFlag } from './common.js';

export const PERPLEXITY_USAGE = `tessera perplexity [--model DIR] --file TEXT [--context N] [--chunks N] [--dense-attention] [--device NAME] [--threads N] [--json]
  Perplexity of TEXT: windows of --context tokens (default: the model's context) each start with BOS
  and are scored on their second half, as llama.cpp does; --chunks scores only the first N windows.
  --dense-attention makes DeepSeek-V3.2 attend to every key instead of the indexer's top-k.
  Progress on stderr; --json prints one JSON object.`;

export interface PerplexityResult {
  readonly ppl: number;
  /** mean negative log-likelihood per scored token (nats) */
  readonly nll: number;
  readonly windows: number;
  readonly scoredTokens: number;
  readonly windowPpl: readonly number[];
}

/** Window w: [bos] + ids[w*(context-1), (w+1)*(context-1)). */
export function perplexityWindows(ids: readonly number[], context: number, bos: number): number[][] {
  const n = context - 1;
  return Array.from({ length: Math.floor(ids.length / n) }, (_, w) => [bos, ...ids.slice(w * n, (w + 1) * n)]);
}

/** Sum of -log softmax(logits[row])[window[row + 1]] over the scored rows (float64). */
export function windowNll(logits: Float32Array, window: readonly number[], vocab: number): { nll: number; count: number } {
  const first = Math.floor(window.length / 2);
  let nll = 0;
  for (let pos = first; pos < window.length; pos++) {
    const row = logits.subarray((pos - 1) * vocab, pos * vocab);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    let sum = 0;
    for (const v of row) sum += Math.exp(v - max);
    nll += max + Math.log(sum) - row[window[pos]!]!;
  }
  return { nll, count: window.length - first };
}

export async function perplexityCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      file: { type: 'string' },
      context: { type: 'string' },
      chunks: { type: 'string' },
      'dense-attention': { type: 'boolean' },
      device: { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const file = requireFlag('file', values.file);
  const text = readText(file);
  const requestedContext = values.context === undefined ? undefined : parsePositiveInt('context', values.context, 0, 4);
  const chunks = values.chunks === undefined ? undefined : parsePositiveInt('chunks', values.chunks, 0, 1);
  const modelDir = modelDirFlag(values.model);
  const device = values.device ?? 'cpu';
  const threads = values.threads === undefined ? undefined : parsePositiveInt('threads', values.threads, 1);
  const denseAttention = values['dense-attention'] ?? false;

  const dir = openModel(modelDir);
  try {
    const { tokenizer } = await loadTokenizer(modelDir);
    const model = loadModel(dir, await backendFromFlags(device, threads), { fp8Activations: 'quant', denseAttention });
    try {
      const context = requestedContext ?? model.info.maxPositionEmbeddings;
      if (context > model.info.maxPositionEmbeddings) throw new UsageError(`--context ${context} exceeds the model's context (${model.info.maxPositionEmbeddings})`);
      const bos = tokenizer.bosId ?? model.info.bosTokenId;
      if (bos === undefined || bos === null) throw new Error(`${modelDir}: neither tokenizer_config.json nor config.json names a BOS token`);
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      const bad = ids.find((id) => id >= model.info.vocabSize);
      if (bad !== undefined) throw new Error(`token id ${bad} is outside the model's vocabulary (${model.info.vocabSize}); tokenizer and model disagree`);
      const windows = perplexityWindows(ids, context, bos).slice(0, chunks);
      if (windows.length === 0) throw new Error(`${file} has ${ids.length} tokens; one window of --context ${context} needs ${context - 1}`);

      const started = performance.now();
      const result = await scoreWindows(model, windows, (w, windowPpl, running) => {
        const rate = ((w + 1) * context) / ((performance.now() - started) / 1000);
        process.stderr.write(`[${w + 1}/${windows.length}] window ${windowPpl.toFixed(4)}, running ${running.toFixed(4)} (${rate.toFixed(0)} tokens/s)\n`);
      });
      const seconds = (performance.now() - started) / 1000;
      if (values.json) {
        out(JSON.stringify({ model: modelDir, file, device: model.backend.name, denseAttention, ...result, fileTokens: ids.length, context, seconds }) + '\n');
      } else {
        const attention = denseAttention ? 'dense attention' : 'attention as configured';
        out(`perplexity ${result.ppl.toFixed(4)} over ${result.scoredTokens} tokens (${windows.length} windows of ${context}, second halves scored; ${attention}; ${seconds.toFixed(1)} s)\n`);
      }
    } finally {
      model.dispose();
    }
  } finally {
    dir.close();
  }
}

/** Prefills every window in a fresh sequence and pools the NLL of the scored targets. */
export async function scoreWindows(
  model: CausalLM,
  windows: readonly (readonly number[])[],
  progress?: (window: number, windowPpl: number, runningPpl: number) => void,
): Promise<PerplexityResult> {
  let nll = 0;
  let count = 0;
  const windowPpl: number[] = [];
  for (const [w, window] of windows.entries()) {
    const seq = new SingleSequence(model, { maxTokens: window.length });
    const r = windowNll(await seq.prefill(window), window, model.info.vocabSize);
    nll += r.nll;
    count += r.count;
    windowPpl.push(Math.exp(r.nll / r.count));
    progress?.(w, windowPpl[w]!, Math.exp(nll / count));
  }
  return { ppl: Math.exp(nll / count), nll: nll / count, windows: windows.length, scoredTokens: count, windowPpl };
}

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --file ${file}: ${(e as Error).message}`);
  }
}
