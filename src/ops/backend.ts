// The op API every model is written against, and the contract every backend fulfils.
// A model never imports a backend: it receives a Backend and calls these ops. Tensors produced by
// ops live until the next `beginStep`; weights and KV caches live until disposed.
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';

/** Activations: row-major float32 matrices [rows, cols] owned by a backend (heads are column groups). */
export interface Tensor {
  readonly shape: readonly number[];
}

/** FP8 e4m3 values with one float32 scale per 128-wide block of each row (the DSA indexer's q and k). */
export interface QuantTensor {
  /** [rows, cols]; cols a multiple of 128 */
  readonly shape: readonly number[];
}

export type WeightDType = 'F32' | 'F16' | 'BF16' | 'F8_E4M3';

/** A weight as stored in the model file (FP8 stays one byte per value), loaded on first use. */
export interface Weight {
  readonly name: string;
  /** [out, in] for matrices, [n] for vectors */
  readonly shape: readonly number[];
  readonly dtype: WeightDType;
}

export interface WeightSpec {
  readonly store: TensorStore;
  readonly tensor: TensorInfo;
  /** Companion weight_scale_inv of an FP8 matrix: [ceil(out/128), ceil(in/128)] multipliers. */
  readonly scale: TensorInfo | null;
}

/** Paged KV cache shape: per layer, per slot (= block * blockSize + offset). */
export interface KvCacheSpec {
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

export interface KvCache {
  readonly spec: KvCacheSpec;
  /** Bytes held per token across all layers (for capacity planning and `inspect`). */
  readonly bytesPerToken: number;
}

/** Rows of one sequence in a step; slices are ordered prefill first, then decode. */
export interface SeqSlice {
  readonly rowStart: number;
  readonly rows: number;
  /** Position of the slice's first row = tokens of this sequence already in the cache. */
  readonly startPos: number;
  /** 'prefill' rows attend in the naive (decompressed) form, 'decode' rows in the absorbed form. */
  readonly mode: 'prefill' | 'decode';
  /** Cache block ids of the sequence, covering positions [0, startPos + rows). */
  readonly blockTable: Int32Array;
}

export interface StepInput {
  /** [T] token ids of all rows */
  readonly tokens: Int32Array;
  readonly seqs: readonly SeqSlice[];
  /** Rotary cos/sin for each row's position: [T, ropeDim/2] each. */
  readonly ropeCos: Float32Array;
  readonly ropeSin: Float32Array;
}

/** A step as uploaded to a backend: everything per-row the ops need (positions, slots, tables). */
export interface Step {
  readonly input: StepInput;
  readonly rows: number;
  /** Rows [0, prefillRows) belong to prefill slices, the rest to decode slices. */
  readonly prefillRows: number;
}

/** Top-k key positions per query row: [T, k] int32, -1 padded (positions index the row's sequence). */
export interface Selection {
  readonly shape: readonly number[];
}

export interface RoutingParams {
  readonly topk: number;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly scoring: 'softmax' | 'sigmoid';
  /** group score = sum of the top-2 (noaux_tc) or the max (group_limited_greedy) */
  readonly groupScore: 'top2-sum' | 'max';
  readonly normalize: boolean;
  readonly scalingFactor: number;
}

/** Chosen experts per row and their weights: [T, topk] each. */
export interface Routing {
  readonly rows: number;
  readonly topk: number;
}

export interface ExpertWeights {
  readonly gate: Weight;
  readonly up: Weight;
  readonly down: Weight;
}

export type LinearMode = 'plain' | 'fp8-act';

export interface Backend {
  readonly name: string;

  loadWeight(spec: WeightSpec): Weight;
  createKvCache(spec: KvCacheSpec): KvCache;
  /** Start a forward step: frees the previous step's activations and uploads per-row metadata. */
  beginStep(input: StepInput, cache: KvCache): Step;

  /** A [rows, cols] float32 tensor from host data, valid for the current step. */
  fromHost(data: Float32Array, rows: number, cols: number): Tensor;

  // ---- elementwise and normalization ---------------------------------------------------------
  /** [T, hidden] rows of the embedding table for the step's tokens */
  embed(table: Weight, step: Step): Tensor;
  rmsNorm(x: Tensor, weight: Weight, eps: number): Tensor;
  layerNorm(x: Tensor, weight: Weight, bias: Weight, eps: number): Tensor;
  add(a: Tensor, b: Tensor): Tensor;
  /** silu(gate) * up */
  siluMul(gate: Tensor, up: Tensor): Tensor;
  /** x [R, C] viewed as [R, groups, C/groups] -> [R, groups*len]: columns [start, start+len) of each group */
  narrow(x: Tensor, groups: number, start: number, len: number): Tensor;
  /** rows [start, start+count) of x [R, C] */
  rows(x: Tensor, start: number, count: number): Tensor;
  /** [R1, C] ++ [R2, C] ++ ... -> [ΣR, C] */
  concatRows(parts: readonly Tensor[]): Tensor;
  /** y = x · W^T; 'fp8-act' quantizes x per 128-block of each row (ue8m0 or plain scales) first. */
  linear(x: Tensor, w: Weight, mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain'): Tensor;

  // ---- rotary, quantization -----------------------------------------------------------------
  /** x [R, groups*D]: rotate dims [start, start+ropeDim) of each group with the tables of step rows rowOffset.. */
  rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset?: number): Tensor;
  /** e4m3 round trip with ue8m0 scales per 128-block (the KV latent of DeepSeek-V3.2) */
  fp8RoundTrip(x: Tensor): Tensor;
  /** Walsh–Hadamard rotation of each 128-vector, then e4m3 quantization with a ue8m0 scale each. */
  hadamardQuant(x: Tensor): QuantTensor;

  // ---- attention -----------------------------------------------------------------------------
  writeLatentCache(cache: KvCache, layer: number, latent: Tensor, kpe: Tensor, step: Step): void;
  writeIndexCache(cache: KvCache, layer: number, keys: QuantTensor, step: Step): void;
  /**
   * DSA lightning indexer: score(t, s) = kScale[s] * Σ_h relu(q8[t,h] · k8[s]) * w[t,h] * qScale[t,h] * wScale
   * over the row's keys s ≤ pos(t), then the `topk` best (all keys when pos(t) < topk).
   * q: [T, heads, 128] quantized; w: [T, heads].
   */
  indexerTopk(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, topk: number, step: Step): Selection;
  /** The keys of each prefill slice, gathered from the cache in slice order: latent [K, r], kpe [K, rope]. */
  gatherPrefillKeys(cache: KvCache, layer: number, step: Step): { latent: Tensor; kpe: Tensor };
  /**
   * Naive-form attention of the prefill rows [0, prefillRows):
   * q [Tp, heads, nope+rope], kv [K, heads, nope+v] (decompressed keys/values of gatherPrefillKeys), kpe [K, rope].
   * Each row attends to its sequence's keys ≤ its position, restricted to `sel` when given. -> [Tp, heads, v]
   */
  attentionPrefill(q: Tensor, kv: Tensor, kpe: Tensor, sel: Selection | null, scale: number, nope: number, step: Step): Tensor;
  /**
   * Absorbed-form attention of the decode rows [prefillRows, T) over the cached latents:
   * qLat [Td, heads, r], qPe [Td, heads, rope] -> [Td, heads, r].
   */
  attentionDecode(cache: KvCache, layer: number, qLat: Tensor, qPe: Tensor, sel: Selection | null, scale: number, step: Step): Tensor;
  /** q_lat[t,h,:] = q_nope[t,h,:] · W_UK[h]  (W_UK[h]: rows h*(nope+v) .. +nope of kv_b) -> [T, heads, r] */
  absorbQuery(qNope: Tensor, kvB: Weight, nope: number, v: number): Tensor;
  /** o[t,h,:] = W_UV[h] · oLat[t,h,:]  (W_UV[h]: rows h*(nope+v)+nope .. +v of kv_b) -> [T, heads, v] */
  absorbOutput(oLat: Tensor, kvB: Weight, nope: number, v: number): Tensor;

  // ---- mixture of experts ----------------------------------------------------------------------
  /** Router: logits [T, E] (float32), correction bias [E] or null -> chosen experts and weights. */
  route(logits: Tensor, bias: Weight | null, params: RoutingParams): Routing;
  /** Σ_k weight[t,k] · expert_k(x[t]) over the chosen experts (only their weights are read). -> [T, hidden] */
  moe(x: Tensor, routing: Routing, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain'): Tensor;

  // ---- output ----------------------------------------------------------------------------------
  /** The listed rows of x [T, C] -> [R, C] */
  gatherRows(x: Tensor, rows: Int32Array): Tensor;
  read(x: Tensor): Promise<Float32Array>;
  /** Index of the largest value of each row (first on ties): greedy tokens without reading the logits back. */
  argmax(x: Tensor): Promise<Int32Array>;
  readSelection(sel: Selection): Promise<Int32Array>;
  readQuant(q: QuantTensor): Promise<{ values: Float32Array; scales: Float32Array }>;
  readRouting(r: Routing): Promise<{ experts: Int32Array; weights: Float32Array }>;

  dispose(): void;
}
