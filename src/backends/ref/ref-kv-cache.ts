// Paged KV cache of the reference backend: float32 everywhere, one array per layer and kind.
import type { KvCache, KvCacheSpec, SeqSlice } from '../../ops/backend.js';

export class RefKvCache implements KvCache {
  readonly latent: Float32Array[];
  readonly kpe: Float32Array[];
  /** indexer keys: e4m3 values as floats [slots, indexDim] and one scale per slot */
  readonly indexValues: Float32Array[];
  readonly indexScales: Float32Array[];
  readonly bytesPerToken: number;

  constructor(readonly spec: KvCacheSpec) {
    const slots = spec.numBlocks * spec.blockSize;
    const per = (n: number) => Array.from({ length: spec.layers }, () => new Float32Array(slots * n));
    this.latent = per(spec.latentDim);
    this.kpe = per(spec.ropeDim);
    this.indexValues = per(spec.indexDim);
    this.indexScales = per(spec.indexDim > 0 ? 1 : 0);
    this.bytesPerToken = spec.layers * 4 * (spec.latentDim + spec.ropeDim + spec.indexDim + (spec.indexDim > 0 ? 1 : 0));
  }
}

/** Cache slot of position `pos` of a sequence. */
export function slotOf(slice: SeqSlice, pos: number, blockSize: number): number {
  const block = slice.blockTable[Math.floor(pos / blockSize)];
  if (block === undefined) throw new Error(`position ${pos} is beyond the sequence's block table (${slice.blockTable.length} blocks)`);
  return block * blockSize + (pos % blockSize);
}
