// `tessera bench`: prefill and decode throughput of one sequence, weight bytes read per decoded
// token and the memory bandwidth that implies. The serving load test is `tessera bench serve`.
import { parseArgs } from 'node:util';
import { openHfDirectory } from '../formats/hf-directory.js';
import type { HfDirectory } from '../formats/hf-directory.js';
import { DTYPE_BYTES } from '../formats/dtype.js';
import { loadModel } from '../models/registry.js';
import { SingleSequence, argmax } from '../engine/single-sequence.js';
import { parseDeepseekConfig } from '../models/deepseek-config.js';
import { backendFromFlags, oneOf, parsePositiveInt, requireFlag } from './common.js';
import { benchPrompt } from './bench-prompt.js';

export const BENCH_USAGE = `tessera bench --model DIR [--prompt-tokens 128] [--gen-tokens 64] [--threads N] [--device NAME] [--json]
  Prefill and decode tokens/s of one sequence, weight bytes read per decoded token, implied GB/s.`;


/**
 * Bytes of weights one decoded token reads: every tensor except the routed experts and the
 * embedding table, one embedding row, and topk/E of the routed experts (FP8 scales included).
 */
export function weightBytesPerToken(dir: HfDirectory): number {
  const c = parseDeepseekConfig(dir.configPath, dir.config);
  let bytes = 0;
  for (const name of dir.tensors.names()) {
    const t = dir.tensors.info(name);
    const layer = /^model\.layers\.(\d+)\./.exec(name);
    if (layer && Number(layer[1]) >= c.numLayers) continue; // MTP layers are not run
    const size = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    if (name === 'model.embed_tokens.weight') bytes += size / t.shape[0]!;
    else if (/\.mlp\.experts\.\d+\./.test(name)) bytes += (size * c.numExpertsPerTok) / c.nRoutedExperts;
    else bytes += size;
  }
  return bytes;
}

export interface BenchResult {
  prefill_tok_s: number;
  decode_tok_s: number;
  weight_bytes_per_token: number;
  decode_gb_s: number;
  prompt_tokens: number;
  gen_tokens: number;
  device: string;
  threads: number | null;
}

export async function benchCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'gen-tokens': { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean' },
      'fp8-activations': { type: 'string' },
    },
    strict: true,
  });
  const promptTokens = parsePositiveInt('prompt-tokens', values['prompt-tokens'], 128);
  const genTokens = parsePositiveInt('gen-tokens', values['gen-tokens'], 64);
  const threads = values.threads === undefined ? undefined : parsePositiveInt('threads', values.threads, 1);
  const fp8Activations = oneOf('fp8-activations', values['fp8-activations'], ['quant', 'none'] as const, 'quant');
  const dir = openHfDirectory(requireFlag('model', values.model));
  const backend = await backendFromFlags(values.device, threads);
  const model = loadModel(dir, backend, { fp8Activations });
  try {
    const prompt = benchPrompt(promptTokens, model.info.vocabSize);
    const run = async (gen: number) => {
      const seq = new SingleSequence(model, { maxTokens: promptTokens + gen + 1 });
      const t0 = performance.now();
      const logits = await seq.prefill(prompt);
      const t1 = performance.now();
      let next = argmax(logits.subarray((promptTokens - 1) * model.info.vocabSize));
      for (let i = 0; i < gen; i++) next = argmax(await seq.decode(next));
      return { prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
    };
    await run(2); // warm-up: compiles kernels, pages in the weights
    const { prefillMs, decodeMs } = await run(genTokens);
    const bytes = weightBytesPerToken(dir);
    const decodeTokS = (genTokens * 1000) / decodeMs;
    const result: BenchResult = {
      prefill_tok_s: (promptTokens * 1000) / prefillMs,
      decode_tok_s: decodeTokS,
      weight_bytes_per_token: bytes,
      decode_gb_s: (decodeTokS * bytes) / 1e9,
      prompt_tokens: promptTokens,
      gen_tokens: genTokens,
      device: backend.name,
      threads: threads ?? null,
    };
    if (values.json) out(JSON.stringify(result) + '\n');
    else {
      out(
        [
          `device        ${result.device}${threads ? ` (${threads} threads)` : ''}`,
          `prefill       ${result.prefill_tok_s.toFixed(1)} tok/s (${promptTokens} tokens)`,
          `decode        ${result.decode_tok_s.toFixed(2)} tok/s (${genTokens} tokens)`,
          `weights/token ${(bytes / 1e6).toFixed(1)} MB read per decoded token -> ${result.decode_gb_s.toFixed(2)} GB/s`,
          '',
        ].join('\n'),
      );
    }
  } finally {
    model.dispose();
    dir.tensors.close();
  }
}
