// `tessera bench`: prefill and decode throughput of one sequence, weight bytes read per decoded
// token and the memory bandwidth that implies. The serving load test is `tessera bench serve`.
import { parseArgs } from 'node:util';
import { openModel } from '../models/open-model.js';
import type { OpenedModel } from '../models/registry.js';
import { loadModel } from '../models/registry.js';
import { SingleSequence, argmax } from '../engine/single-sequence.js';
import { backendFromFlags, kvCacheDtypeFlag, oneOf, parseIntList, parsePositiveInt, modelDirFlag } from './common.js';
import { UsageError } from './cli-error.js';
import type { CausalLM } from '../models/model.js';
import { benchPrompt } from './bench-prompt.js';
import { FilledSequence, canFillCache } from './bench-fill.js';
import { tensorParallelFlag } from './tensor-parallel.js';
import { timedCommunicator } from '../parallel/timed-communicator.js';

export const BENCH_USAGE = `tessera bench [--model DIR] [--prompt-tokens 128[,1024,...]] [--gen-tokens 64] [--chunk 512] [--threads N] [--device NAME] [--dense-attention] [--fp8-activations quant|none] [--kv-cache-dtype auto|f32|f16|bf16] [--fill-context] [--tensor-parallel N [--expert-parallel]] [--json]
  Prefill and decode tokens/s of one sequence, weight bytes read per decoded token, implied GB/s.
  Several prompt lengths measure how decode cost grows with the context (DSA: nearly flat past top-k).
  --fill-context: no prefill; the cache is written from the model's own key projections of random
  hidden states, growing from one length to the next, and decode is timed at each (cost only).
  --tensor-parallel N: one of N ranks under mpirun -np N, each running the same sequence on its
  shard; rank 0 prints, with the time its collectives took per decoded token (waits included).
  --json: one JSON line per prompt length.`;

/**
 * Bytes of weights one decoded token reads: every tensor it runs (the architecture says which:
 * one row of an embedding table, topk/E of the routed experts), FP8 scales with their weights.
 */
export function weightBytesPerToken(m: OpenedModel): number {
  const d = m.architecture.describe({});
  let bytes = 0;
  for (const e of m.architecture.manifest()) {
    if (!m.tensors.has(e.name)) continue;
    const use = d.usePerToken(e.name);
    for (const name of [e.name, `${e.name}_scale_inv`]) {
      if (!m.tensors.has(name)) continue;
      const t = m.tensors.info(name);
      bytes += use === 'row' ? t.byteLength / t.shape[0]! : t.byteLength * use;
    }
  }
  return bytes;
}

export interface BenchResult {
  prefill_tok_s: number;
  decode_tok_s: number;
  weight_bytes_per_token: number;
  decode_gb_s: number;
  decode_ms_per_token: number;
  prompt_tokens: number;
  gen_tokens: number;
  /** 'prefill' (a real prompt) or 'fill-context' (cache written from random states, no prefill) */
  context: 'prefill' | 'fill-context';
  /** seconds spent writing the cache up to this length (fill-context) */
  fill_s?: number;
  /** tokens in the cache when the timed decode steps began (fill-context) */
  cache_tokens?: number;
  dense_attention: boolean;
  device: string;
  threads: number | null;
  /** ranks the model is split over (1: one process) */
  tensor_parallel: number;
  expert_parallel: boolean;
  /** tensor parallelism: rank 0's milliseconds inside collectives per decoded token (waiting for the other ranks included) */
  collective_ms_per_token?: number;
}

interface Timing {
  prefillMs: number;
  decodeMs: number;
  /** collective milliseconds during the decode steps */
  decodeCollectiveMs: number;
}

/**
 * One sequence: the prompt prefilled in chunks (logits of the last row only, what generation
 * samples from, as node-llama-cpp's evaluate in the llama.cpp runner does), then `gen` greedy
 * decode steps.
 */
async function timeSequence(model: CausalLM, prompt: readonly number[], gen: number, chunk: number, collectiveMs: () => number): Promise<Timing> {
  const seq = new SingleSequence(model, { maxTokens: prompt.length + gen + 1 });
  const t0 = performance.now();
  let logits: Float32Array = new Float32Array(0);
  for (let i = 0; i < prompt.length; i += chunk) logits = await seq.prefillLast(prompt.slice(i, i + chunk));
  const t1 = performance.now();
  const c1 = collectiveMs();
  let next = argmax(logits);
  for (let i = 0; i < gen; i++) next = argmax(await seq.decode(next));
  return { prefillMs: t1 - t0, decodeMs: performance.now() - t1, decodeCollectiveMs: collectiveMs() - c1 };
}

export async function benchCommand(argv: string[], stdout: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      'prompt-tokens': { type: 'string' },
      'gen-tokens': { type: 'string' },
      chunk: { type: 'string' },
      threads: { type: 'string' },
      device: { type: 'string' },
      json: { type: 'boolean' },
      'dense-attention': { type: 'boolean' },
      'fp8-activations': { type: 'string' },
      'kv-cache-dtype': { type: 'string' },
      'fill-context': { type: 'boolean' },
      'tensor-parallel': { type: 'string' },
      'expert-parallel': { type: 'boolean' },
    },
    strict: true,
  });
  const promptLengths = values['prompt-tokens'] === undefined ? [128] : parseIntList('prompt-tokens', values['prompt-tokens']);
  if (promptLengths.some((n) => n < 1)) throw new UsageError('--prompt-tokens must be positive');
  const genTokens = parsePositiveInt('gen-tokens', values['gen-tokens'], 64);
  const chunk = parsePositiveInt('chunk', values.chunk, 512);
  const threads = values.threads === undefined ? undefined : parsePositiveInt('threads', values.threads, 1);
  const fp8Activations = oneOf('fp8-activations', values['fp8-activations'], ['quant', 'none'] as const, 'quant');
  const kvCacheDtype = kvCacheDtypeFlag(values['kv-cache-dtype']);
  // every rank runs the same sequence (greedy on gathered logits: the same tokens everywhere)
  const tp = tensorParallelFlag(values, stdout);
  const out = tp.out;
  const timed = tp.communicator ? timedCommunicator(tp.communicator) : null;
  const collectiveMs = () => timed?.elapsedMs() ?? 0;
  const dir = openModel(modelDirFlag(values.model));
  const backend = await backendFromFlags(values.device, threads);
  const model = loadModel(dir, backend, { fp8Activations, denseAttention: values['dense-attention'] === true, ...(kvCacheDtype ? { kvCacheDtype } : {}), ...tp.modelOptions, ...(timed ? { communicator: timed.communicator } : {}) });
  const ranks = tp.communicator?.size ?? 1;
  try {
    const longest = Math.max(...promptLengths);
    if (longest + genTokens > model.info.maxPositionEmbeddings) throw new UsageError(`${longest + genTokens} tokens exceed the model's context (${model.info.maxPositionEmbeddings})`);
    const bytes = weightBytesPerToken(dir);
    const dense = values['dense-attention'] === true;
    const row = (promptTokens: number, prefillTokS: number, decodeMs: number, decodeCollectiveMs: number, extra: Partial<BenchResult> = {}): BenchResult => {
      const decodeTokS = (genTokens * 1000) / decodeMs;
      return {
        prefill_tok_s: prefillTokS,
        decode_tok_s: decodeTokS,
        weight_bytes_per_token: bytes,
        decode_gb_s: (decodeTokS * bytes) / 1e9,
        decode_ms_per_token: decodeMs / genTokens,
        prompt_tokens: promptTokens,
        gen_tokens: genTokens,
        context: 'prefill',
        dense_attention: dense,
        device: backend.name,
        threads: threads ?? null,
        tensor_parallel: ranks,
        expert_parallel: tp.modelOptions.expertParallel ?? false,
        ...(timed ? { collective_ms_per_token: decodeCollectiveMs / genTokens } : {}),
        ...extra,
      };
    };
    const results: BenchResult[] = [];
    if (values['fill-context']) {
      if (!canFillCache(model)) throw new UsageError(`--fill-context: ${model.info.architecture} models cannot write their cache from hidden states`);
      const lengths = [...promptLengths].sort((a, b) => a - b);
      const seq = new FilledSequence(model, lengths[lengths.length - 1]! + genTokens * (lengths.length + 1) + 1);
      await seq.fill(Math.min(lengths[0]!, 64), chunk); // warm-up: compiles kernels, pages in the weights
      await seq.decode(0);
      let fillS = 0;
      for (const promptTokens of lengths) {
        const t0 = performance.now();
        if (promptTokens > seq.position) await seq.fill(promptTokens - seq.position, chunk);
        fillS += (performance.now() - t0) / 1000;
        let next = await seq.decode(0); // untimed: the first step past top-k compiles the indexer kernels
        const at = seq.position;
        const t1 = performance.now();
        const c1 = collectiveMs();
        for (let i = 0; i < genTokens; i++) next = await seq.decode(next);
        results.push(row(promptTokens, 0, performance.now() - t1, collectiveMs() - c1, { context: 'fill-context', fill_s: fillS, cache_tokens: at }));
        if (values.json) out(JSON.stringify(results[results.length - 1]) + '\n');
      }
    } else {
      await timeSequence(model, benchPrompt(Math.min(promptLengths[0]!, chunk), model.info.vocabSize), 2, chunk, collectiveMs); // warm-up: compiles kernels, pages in the weights
      for (const promptTokens of promptLengths) {
        const { prefillMs, decodeMs, decodeCollectiveMs } = await timeSequence(model, benchPrompt(promptTokens, model.info.vocabSize), genTokens, chunk, collectiveMs);
        results.push(row(promptTokens, (promptTokens * 1000) / prefillMs, decodeMs, decodeCollectiveMs));
        if (values.json) out(JSON.stringify(results[results.length - 1]) + '\n');
      }
    }
    if (values.json) return;
    const split = ranks > 1 ? `, ${ranks} ranks (${tp.modelOptions.expertParallel ? 'tensor + expert' : 'tensor'} parallel, ${tp.communicator!.library})` : '';
    out(`device ${backend.name}${threads ? ` (${threads} threads)` : ''}${split}, ${(bytes / 1e6).toFixed(1)} MB of weights read per decoded token${ranks > 1 ? ' by all ranks together' : ''}${dense ? ', dense attention' : ''}\n`);
    if (values['fill-context']) out('--fill-context: the cache holds the model\'s key projections of random hidden states, not a prefilled prompt (cost measurement only)\n');
    out(`context   prefill tok/s   decode tok/s   decode ms/token   decode GB/s${timed ? '   collectives ms/token' : ''}\n`);
    for (const r of results) {
      const comm = r.collective_ms_per_token === undefined ? '' : `   ${r.collective_ms_per_token.toFixed(2).padStart(20)}`;
      out(
        `${String(r.prompt_tokens).padStart(7)}   ${r.prefill_tok_s.toFixed(1).padStart(13)}   ${r.decode_tok_s.toFixed(2).padStart(12)}   ${(1000 / r.decode_tok_s).toFixed(2).padStart(15)}   ${r.decode_gb_s.toFixed(2).padStart(11)}${comm}\n`,
      );
    }
  } finally {
    model.dispose();
    dir.close();
    tp.close();
  }
}
