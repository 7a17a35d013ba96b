// The paged KV cache of a model: per layer, per slot (slot = block * blockSize + offset). MLA
// models (DeepSeek) cache one compressed latent + rotary key (+ the DSA indexer key) per token;
// grouped-query attention models cache K and V per KV head.

export interface MlaKvSpec {
  readonly kind: 'mla';
  readonly layers: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  /** MLA latent width (kv_lora_rank) */
  readonly latentDim: number;
  /** rotary key width (qk_rope_head_dim) */
  readonly ropeDim: number;
  /** DSA indexer key width (index_head_dim), 0 without an indexer */
  readonly indexDim: number;
  /** 'fp8': latents are exact e4m3 values times a ue8m0 scale per 128 (DeepSeek-V3.2) and may be stored so */
  readonly latentFormat: 'fp8' | 'f32';
}

/** Element type of cached K/V: float32 keeps every bit; 16-bit halves the memory. */
export type KvDType = 'f32' | 'f16' | 'bf16';

export interface GqaKvSpec {
  readonly kind: 'gqa';
  readonly layers: number;
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dtype: KvDType;
}

export type KvCacheSpec = MlaKvSpec | GqaKvSpec;

/** A cache layout without its size: what a model asks for. */
export type KvLayout = Omit<MlaKvSpec, 'numBlocks' | 'blockSize'> | Omit<GqaKvSpec, 'numBlocks' | 'blockSize'>;

export interface KvCache {
  readonly spec: KvCacheSpec;
  /** Bytes held per token across all layers (for capacity planning and `inspect`). */
  readonly bytesPerToken: number;
}

export const KV_DTYPE_BYTES: Readonly<Record<KvDType, number>> = { f32: 4, f16: 2, bf16: 2 };

/**
 * Bytes per token of the compact layout the native backends store: MLA latents as e4m3 codes +
 * one float32 scale per 128 (V3.2) or float32, rotary keys float32, indexer keys e4m3 + scale;
 * GQA keys and values in the cache dtype.
 */
export function compactBytesPerToken(layout: KvLayout): number {
  if (layout.kind === 'gqa') return layout.layers * 2 * layout.kvHeads * layout.headDim * KV_DTYPE_BYTES[layout.dtype];
  const latent = layout.latentFormat === 'fp8' ? layout.latentDim + 4 * Math.ceil(layout.latentDim / 128) : 4 * layout.latentDim;
  const indexer = layout.indexDim > 0 ? layout.indexDim + 4 : 0;
  return layout.layers * (latent + 4 * layout.ropeDim + indexer);
}

export function mlaSpec(spec: KvCacheSpec): MlaKvSpec {
  if (spec.kind !== 'mla') throw new Error('this op needs an MLA (latent) KV cache');
  return spec;
}

export function gqaSpec(spec: KvCacheSpec): GqaKvSpec {
  if (spec.kind !== 'gqa') throw new Error('this op needs a K/V (grouped-query attention) cache');
  return spec;
}
