// Logprobs of the prompt's own tokens (completions with echo + logprobs; vLLM's prompt_logprobs).
// The engine samples only from a sequence's last row, so the prompt is scored separately: a
// chunked prefill through a private cache on the ExclusiveModel (never interleaved with engine
// steps). Chunks bound the host memory for logits: rows x vocab floats at a time.
import type { TokenLogprob } from '../engine/index.js';
import { SingleSequence } from '../engine/single-sequence.js';
import type { CausalLM } from '../models/model.js';

export interface PromptTokenLogprob {
  readonly id: number;
  /** null for the first token, which has no context */
  readonly logprob: number | null;
  readonly topLogprobs: readonly TokenLogprob[] | null;
}

const CHUNK_ROWS = 32;

export class AbortedError extends Error {
  constructor() {
    super('aborted');
    this.name = 'AbortedError';
  }
}

export async function scorePrompt(model: CausalLM, promptIds: readonly number[], topN: number, signal?: AbortSignal): Promise<PromptTokenLogprob[]> {
  const V = model.info.vocabSize;
  const out: PromptTokenLogprob[] = [];
  const first = promptIds[0];
  if (first === undefined) return out;
  out.push({ id: first, logprob: null, topLogprobs: null });
  const seq = new SingleSequence(model, { maxTokens: promptIds.length, blockSize: 16 });
  for (let start = 0; start < promptIds.length - 1; start += CHUNK_ROWS) {
    if (signal?.aborted) throw new AbortedError();
    // Rows [start, end) predict tokens start+1 .. end; the last prompt token predicts nothing.
    const end = Math.min(start + CHUNK_ROWS, promptIds.length - 1);
    const logits = await seq.prefill(promptIds.slice(start, end)); // [end - start, V]
    for (let r = 0; r < end - start; r++) {
      const id = promptIds[start + r + 1]!;
      out.push(rowLogprob(logits.subarray(r * V, (r + 1) * V), id, topN));
    }
  }
  return out;
}

function rowLogprob(row: Float32Array, id: number, topN: number): PromptTokenLogprob {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  const top: number[] = [];
  for (let i = 0; i < row.length && topN > 0; i++) {
    const v = row[i]!;
    if (top.length === topN && v <= row[top[topN - 1]!]!) continue;
    let at = top.length;
    while (at > 0 && row[top[at - 1]!]! < v) at--;
    top.splice(at, 0, i);
    if (top.length > topN) top.pop();
  }
  return { id, logprob: row[id]! - lse, topLogprobs: top.map((t) => ({ id: t, logprob: row[t]! - lse })) };
}
