// A CausalLM stand-in for engine tests: no weights, but an honest paged "KV cache". Every forward
// writes each row's (token, position) into its slot through the block table, and each logits row
// reads its whole context back through the table, throwing on a missing or misplaced entry. The
// next token is a hash of that context, so any KV bookkeeping error (wrong table, lost prefix,
// overwritten shared block) changes the output instead of passing silently.
import type { Backend } from '../../src/ops/backend.js';
import type { KvCache, KvCacheSpec } from '../../src/ops/kv-cache.js';
import type { CausalLM, ForwardInput, ModelInfo } from '../../src/models/model.js';

export class FakeKvCache implements KvCache {
  readonly bytesPerToken = 8;
  readonly tokens: Int32Array;
  readonly positions: Int32Array;
  constructor(readonly spec: KvCacheSpec) {
    this.tokens = new Int32Array(spec.numBlocks * spec.blockSize).fill(-1);
    this.positions = new Int32Array(spec.numBlocks * spec.blockSize).fill(-1);
  }
}

export interface FakeModelOptions {
  readonly vocabSize?: number;
  readonly maxPositionEmbeddings?: number;
  readonly eosTokenIds?: readonly number[];
  /** ms to wait inside every forward (lets tests act while a step is in flight) */
  readonly delayMs?: number;
  /** throw from the n-th forward call (1-based) */
  readonly failOnCall?: number;
}

export class FakeModel implements CausalLM {
  readonly info: ModelInfo;
  forwardCalls = 0;
  rowsSeen = 0;
  maxRowsInStep = 0;
  private cache: FakeKvCache | null = null;

  constructor(private readonly opts: FakeModelOptions = {}) {
    this.info = {
      architecture: 'fake',
      vocabSize: opts.vocabSize ?? 64,
      hiddenSize: 1,
      numLayers: 1,
      maxPositionEmbeddings: opts.maxPositionEmbeddings ?? 4096,
      bosTokenId: null,
      eosTokenIds: opts.eosTokenIds ?? [1],
    };
  }

  get backend(): Backend {
    throw new Error('the engine must not reach past the model to its backend');
  }

  createKvCache(numBlocks: number, blockSize: number): KvCache {
    this.cache = new FakeKvCache({ kind: 'mla', layers: 1, numBlocks, blockSize, latentDim: 1, ropeDim: 0, indexDim: 0, latentFormat: 'f32' });
    return this.cache;
  }

  async forward(input: ForwardInput, cache: KvCache): Promise<Float32Array> {
    this.forwardCalls++;
    if (this.opts.failOnCall === this.forwardCalls) throw new Error('simulated device failure');
    if (!(cache instanceof FakeKvCache) || cache !== this.cache) throw new Error('foreign KV cache');
    const T = input.tokens.length;
    this.rowsSeen += T;
    this.maxRowsInStep = Math.max(this.maxRowsInStep, T);
    const bs = cache.spec.blockSize;
    const slot = (table: Int32Array, pos: number): number => {
      const block = table[Math.floor(pos / bs)];
      if (block === undefined) throw new Error(`position ${pos} beyond the block table`);
      return block * bs + (pos % bs);
    };
    let seenDecode = false;
    let next = 0;
    for (const s of input.seqs) {
      if (s.mode === 'decode') seenDecode = true;
      else if (seenDecode) throw new Error('prefill slice after a decode slice');
      if (s.rowStart !== next) throw new Error('slices must cover the rows in order');
      next += s.rows;
      for (let i = 0; i < s.rows; i++) {
        const at = slot(s.blockTable, s.startPos + i);
        cache.tokens[at] = input.tokens[s.rowStart + i]!;
        cache.positions[at] = s.startPos + i;
      }
    }
    if (next !== T) throw new Error('rows not covered by slices');
    if (this.opts.delayMs) await new Promise((r) => setTimeout(r, this.opts.delayMs));

    const V = this.info.vocabSize;
    const out = new Float32Array(input.logitRows.length * V); // [R, V]
    input.logitRows.forEach((row, r) => {
      const s = input.seqs.find((x) => row >= x.rowStart && row < x.rowStart + x.rows);
      if (!s) throw new Error(`logit row ${row} outside every slice`);
      const pos = s.startPos + row - s.rowStart;
      let h = 0x811c9dc5;
      for (let p = 0; p <= pos; p++) {
        const at = slot(s.blockTable, p);
        if (cache.positions[at] !== p) throw new Error(`KV for position ${p} missing or misplaced (slot ${at} holds position ${cache.positions[at]})`);
        h = Math.imul(h ^ cache.tokens[at]!, 0x01000193) >>> 0;
      }
      for (let v = 0; v < V; v++) out[r * V + v] = (Math.imul(h ^ (v * 0x9e3779b1), 0x85ebca6b) >>> 0) / 2 ** 32 * 4; // logits in [0, 4)
    });
    return out;
  }

  dispose(): void {}
}
