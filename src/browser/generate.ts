// Token-by-token generation for one sequence: a prefill, then one decode step per new token, each
// a single GPU submission whose only readback is the logits row.
import type { CausalLM } from '../models/model.js';
import { SingleSequence, argmax } from '../engine/single-sequence.js';

export interface GenerateOptions {
  readonly maxNewTokens: number;
  /** 0 (default): greedy; otherwise softmax sampling at this temperature over the top 40 */
  readonly temperature?: number;
  /** ids that end generation (e.g. EOS); they are not emitted */
  readonly stopIds?: readonly number[];
  /** called with every generated id as soon as it is known */
  readonly onToken?: (id: number) => void;
  /** return early when aborted */
  readonly signal?: { readonly aborted: boolean };
}

export interface GenerateResult {
  readonly ids: number[];
  readonly finish: 'length' | 'stop' | 'abort';
  readonly prefillMs: number;
  readonly decodeMs: number;
}

function sample(row: Float32Array, temperature: number): number {
  if (temperature <= 0) return argmax(row);
  const top = Array.from(row.keys()).sort((a, b) => row[b]! - row[a]!).slice(0, 40);
  const m = row[top[0]!]!;
  const w = top.map((i) => Math.exp((row[i]! - m) / temperature));
  let r = Math.random() * w.reduce((a, b) => a + b, 0);
  for (let j = 0; j < top.length; j++) if ((r -= w[j]!) <= 0) return top[j]!;
  return top[top.length - 1]!;
}

export async function generate(model: CausalLM, prompt: readonly number[], opts: GenerateOptions): Promise<GenerateResult> {
  if (prompt.length === 0) throw new RangeError('the prompt has no tokens');
  const V = model.info.vocabSize;
  const stop = new Set(opts.stopIds ?? []);
  const seq = new SingleSequence(model, { maxTokens: prompt.length + opts.maxNewTokens });
  const ids: number[] = [];
  const t0 = performance.now();
  const logits = await seq.prefill(prompt);
  let next = sample(logits.subarray((prompt.length - 1) * V, prompt.length * V), opts.temperature ?? 0);
  const t1 = performance.now();
  let finish: GenerateResult['finish'] = 'length';
  for (;;) {
    if (stop.has(next)) {
      finish = 'stop';
      break;
    }
    ids.push(next);
    opts.onToken?.(next);
    if (ids.length >= opts.maxNewTokens) break;
    if (opts.signal?.aborted) {
      finish = 'abort';
      break;
    }
    next = sample(await seq.decode(next), opts.temperature ?? 0);
  }
  return { ids, finish, prefillMs: t1 - t0, decodeMs: performance.now() - t1 };
}
