// One sequence through a model: prefill with logits at every prompt position, then incremental
// decode steps over the KV cache (never recomputing the prefix). Used by `tessera logits`, tests
// and simple generation; the batching engine builds the same ForwardInput for many sequences.
import type { KvCache } from '../ops/kv-cache.js';
import type { CausalLM, ForwardTrace } from '../models/model.js';

export interface SingleSequenceOptions {
  readonly blockSize?: number;
  /** capacity in tokens (prompt + decode steps) */
  readonly maxTokens: number;
}

export class SingleSequence {
  readonly cache: KvCache;
  private readonly blockTable: Int32Array;
  private length = 0;

  constructor(
    readonly model: CausalLM,
    opts: SingleSequenceOptions,
  ) {
    const blockSize = opts.blockSize ?? 64;
    const blocks = Math.ceil(opts.maxTokens / blockSize);
    this.cache = model.createKvCache(blocks, blockSize);
    this.blockTable = Int32Array.from({ length: blocks }, (_, i) => i);
  }

  get position(): number {
    return this.length;
  }

  /** Feed tokens as one prefill chunk; returns logits for every fed row [n, vocab]. */
  async prefill(tokens: readonly number[], trace?: ForwardTrace): Promise<Float32Array> {
    return this.feed(tokens, 'prefill', Int32Array.from(tokens, (_, i) => i), trace);
  }

  /** Feed tokens as one prefill chunk; returns the logits of its last row only [vocab] (what generation samples from). */
  async prefillLast(tokens: readonly number[]): Promise<Float32Array> {
    return this.feed(tokens, 'prefill', Int32Array.of(tokens.length - 1));
  }

  /** Feed one token through the decode (absorbed attention) path; returns its logits [vocab]. */
  async decode(token: number, trace?: ForwardTrace): Promise<Float32Array> {
    return this.feed([token], 'decode', Int32Array.of(0), trace);
  }

  private async feed(tokens: readonly number[], mode: 'prefill' | 'decode', logitRows: Int32Array, trace?: ForwardTrace): Promise<Float32Array> {
    if (this.length + tokens.length > this.blockTable.length * this.cache.spec.blockSize) {
      throw new RangeError(`sequence of ${this.length + tokens.length} tokens exceeds the cache capacity`);
    }
    const logits = await this.model.forward(
      {
        tokens: Int32Array.from(tokens),
        seqs: [{ rowStart: 0, rows: tokens.length, startPos: this.length, mode, blockTable: this.blockTable }],
        logitRows,
      },
      this.cache,
      trace,
    );
    this.length += tokens.length;
    return logits;
  }
}

export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}
