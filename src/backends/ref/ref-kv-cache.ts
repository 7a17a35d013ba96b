// Paged KV cache of the reference backend: float32 arrays, one per layer and kind. A 16-bit GQA
// cache holds the values rounded to that dtype, so ref computes with what the cache really keeps.
import { KV_DTYPE_BYTES, gqaSpec, mlaSpec } from '../../ops/kv-cache.js';
import type { GqaKvSpec, KvCache, KvCacheSpec, MlaKvSpec } from '../../ops/kv-cache.js';
import type { SeqSlice } from '../../ops/step.js';

export class RefKvCache implements KvCache {
  /** MLA */
  readonly latent: Float32Array[] = [];
  readonly kpe: Float32Array[] = [];
  /** indexer keys: e4m3 values as floats [slots, indexDim] and one scale per slot */
  readonly indexValues: Float32Array[] = [];
  readonly indexScales: Float32Array[] = [];
  /** GQA: [slots, kvHeads*headDim] */
  readonly k: Float32Array[] = [];
  readonly v: Float32Array[] = [];
  readonly bytesPerToken: number;

  constructor(readonly spec: KvCacheSpec) {
    const slots = spec.numBlocks * spec.blockSize;
    const per = (n: number) => Array.from({ length: spec.layers }, () => new Float32Array(slots * n));
    if (spec.kind === 'gqa') {
      const width = spec.kvHeads * spec.headDim;
      this.k = per(width);
      this.v = per(width);
      this.bytesPerToken = spec.layers * 2 * width * KV_DTYPE_BYTES[spec.dtype];
      return;
    }
    this.latent = per(spec.latentDim);
    this.kpe = per(spec.ropeDim);
    this.indexValues = per(spec.indexDim);
    this.indexScales = per(spec.indexDim > 0 ? 1 : 0);
    this.bytesPerToken = spec.layers * 4 * (spec.latentDim + spec.ropeDim + spec.indexDim + (spec.indexDim > 0 ? 1 : 0));
  }

  get mla(): MlaKvSpec {
    return mlaSpec(this.spec);
  }

  get gqa(): GqaKvSpec {
    return gqaSpec(this.spec);
  }
}

/** Cache slot of position `pos` of a sequence. */
export function slotOf(slice: SeqSlice, pos: number, blockSize: number): number {
  const block = slice.blockTable[Math.floor(pos / blockSize)];
  if (block === undefined) throw new Error(`position ${pos} is beyond the sequence's block table (${slice.blockTable.length} blocks)`);
  return block * blockSize + (pos % blockSize);
}
