// `tessera bench --fill-context`: decode cost at long contexts without a real prefill. The cache is
// written from the model's own key projections of random hidden states (cost measurement only:
// the tokens decoded after it are meaningless), then decode steps are timed at each length.
import type { KvCache } from '../ops/kv-cache.js';
import type { CausalLM, ForwardInput } from '../models/model.js';
import { randomValues } from '../conformance/random.js';
import { argmax } from '../engine/single-sequence.js';

/** A model that can write its cache rows from given hidden states (DeepSeek: `fillCache`). */
export interface CacheFiller {
  fillCache(input: ForwardInput, cache: KvCache, hidden: Float32Array): void;
}

export function canFillCache(model: CausalLM): model is CausalLM & CacheFiller {
  return typeof (model as Partial<CacheFiller>).fillCache === 'function';
}

/** Rows of random states drawn once; row i of a chunk is a window of the pool at a position hash. */
const POOL_ROWS = 61;

export class FilledSequence {
  readonly cache: KvCache;
  private readonly blockTable: Int32Array;
  private readonly pool: Float32Array;
  private length = 0;

  constructor(
    readonly model: CausalLM & CacheFiller,
    maxTokens: number,
    private readonly blockSize = 64,
  ) {
    const blocks = Math.ceil(maxTokens / blockSize);
    this.cache = model.createKvCache(blocks, blockSize);
    this.blockTable = Int32Array.from({ length: blocks }, (_, i) => i);
    this.pool = randomValues(0x5eed, (POOL_ROWS + 1) * model.info.hiddenSize, 1);
  }

  get position(): number {
    return this.length;
  }

  /** Writes `n` more cache positions, `chunk` rows per call. */
  async fill(n: number, chunk: number): Promise<void> {
    const H = this.model.info.hiddenSize;
    for (let done = 0; done < n; done += chunk) {
      const rows = Math.min(chunk, n - done);
      const hidden = new Float32Array(rows * H);
      for (let i = 0; i < rows; i++) {
        const p = this.length + i;
        const off = ((p * 7919) % POOL_ROWS) * H + (p % H);
        hidden.set(this.pool.subarray(off, off + H), i * H);
      }
      this.model.fillCache(this.input(rows, 'prefill'), this.cache, hidden);
      this.length += rows;
    }
    await this.model.backend.read(this.model.backend.fromHost(new Float32Array(1), 1, 1)); // wait for queued work
  }

  /** One greedy decode step; returns the next token. */
  async decode(token: number): Promise<number> {
    const logits = await this.model.forward(this.input(1, 'decode', token), this.cache);
    this.length += 1;
    return argmax(logits);
  }

  private input(rows: number, mode: 'prefill' | 'decode', token = 0): ForwardInput {
    if (this.length + rows > this.blockTable.length * this.blockSize) throw new RangeError(`${this.length + rows} tokens exceed the cache capacity`);
    return {
      tokens: new Int32Array(rows).fill(token),
      seqs: [{ rowStart: 0, rows, startPos: this.length, mode, blockTable: this.blockTable }],
      logitRows: Int32Array.of(rows - 1),
    };
  }
}
