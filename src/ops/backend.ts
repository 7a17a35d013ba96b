// The op API every model is written against, and the contract every backend fulfils.
// A model never imports a backend: it receives a Backend and calls these ops. Tensors produced by
// ops live until the next `beginStep`; weights and KV caches live until disposed.
// Generic ops serve every architecture; MLA/DSA (DeepSeek's latent attention and sparse indexer)
// and MoE are extensions a backend declares with `supportsOp`.
import type { KvCache, KvCacheSpec } from './kv-cache.js';
import type { Step, StepInput } from './step.js';
import type { ExpertShard, ExpertWeights, LinearMode, QuantTensor, Routing, RoutingParams, Selection, Tensor, Weight, WeightSpec } from './tensors.js';

export interface CoreOps {
  loadWeight(spec: WeightSpec): Weight;
  createKvCache(spec: KvCacheSpec): KvCache;
  /** Start a forward step: frees the previous step's activations and uploads per-row metadata. */
  beginStep(input: StepInput, cache: KvCache): Step;

  /** A [rows, cols] float32 tensor from host data, valid for the current step. */
  fromHost(data: Float32Array, rows: number, cols: number): Tensor;

  // ---- elementwise and normalization ---------------------------------------------------------
  /** [T, hidden] rows of the embedding table for the step's tokens */
  embed(table: Weight, step: Step): Tensor;
  /**
   * RMSNorm with gain `weight` [D]: x [R, G*D] normalized per group of D columns (G = 1: whole
   * rows; G = heads: the per-head q/k norm of Qwen3).
   */
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
  /**
   * y = x · W^T (+ bias [out]); 'fp8-act' quantizes x per 128-block of each row (ue8m0 or plain
   * scales) first.
   */
  linear(x: Tensor, w: Weight, mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain', bias?: Weight | null): Tensor;
  /** x [R, groups*D]: rotate dims [start, start+ropeDim) of each group with the tables of step rows rowOffset.. */
  rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset?: number): Tensor;

  // ---- grouped-query attention over paged K/V ---------------------------------------------------
  /** k, v [T, kvHeads*headDim] stored at each row's cache slot. */
  writeKvCache(cache: KvCache, layer: number, k: Tensor, v: Tensor, step: Step): void;
  /**
   * Causal attention of every row (prefill and decode alike) over its sequence's cached keys at
   * positions ≤ its own: q [T, heads*headDim]; query head h reads KV head h / (heads / kvHeads).
   * softmax(q·k · scale) · v -> [T, heads*headDim]
   */
  gqaAttention(cache: KvCache, layer: number, q: Tensor, scale: number, step: Step): Tensor;

  // ---- output ----------------------------------------------------------------------------------
  /** The listed rows of x [T, C] -> [R, C] */
  gatherRows(x: Tensor, rows: Int32Array): Tensor;
  read(x: Tensor): Promise<Float32Array>;
  /** Index of the largest value of each row (first on ties): greedy tokens without reading the logits back. */
  argmax(x: Tensor): Promise<Int32Array>;

  dispose(): void;
}

/** DeepSeek's multi-head latent attention and the DSA lightning indexer. */
export interface MlaOps {
  /** e4m3 round trip with ue8m0 scales per 128-block (the KV latent of DeepSeek-V3.2) */
  fp8RoundTrip(x: Tensor): Tensor;
  /** Walsh–Hadamard rotation of each 128-vector, then e4m3 quantization with a ue8m0 scale each. */
  hadamardQuant(x: Tensor): QuantTensor;
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
  readSelection(sel: Selection): Promise<Int32Array>;
  readQuant(q: QuantTensor): Promise<{ values: Float32Array; scales: Float32Array }>;
}

/** Mixture of experts: routing and the expert mixture that reads only the chosen experts. */
export interface MoeOps {
  /** Router: logits [T, E] (float32), correction bias [E] or null -> chosen experts and weights. */
  route(logits: Tensor, bias: Weight | null, params: RoutingParams): Routing;
  /**
   * Σ_k weight[t,k] · expert_k(x[t]) over the chosen experts (only their weights are read). With a
   * shard, `experts` are the layer's experts [first, first + experts.length) and the sum runs over
   * the chosen experts among them. -> [T, hidden]
   */
  moe(x: Tensor, routing: Routing, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain', shard?: ExpertShard): Tensor;
  readRouting(r: Routing): Promise<{ experts: Int32Array; weights: Float32Array }>;
}

export interface Backend extends CoreOps, MlaOps, MoeOps {
  readonly name: string;
  /** Whether this backend implements `op` (an op it lacks throws when called). */
  supportsOp(op: OpName): boolean;
}

export type OpName = Exclude<keyof (CoreOps & MlaOps & MoeOps), 'dispose'>;

/** The ops an architecture needs beyond the core ones, checked when a model is loaded. */
export const MLA_OPS: readonly OpName[] = ['fp8RoundTrip', 'hadamardQuant', 'writeLatentCache', 'writeIndexCache', 'indexerTopk', 'gatherPrefillKeys', 'attentionPrefill', 'attentionDecode', 'absorbQuery', 'absorbOutput'];
export const MOE_OPS: readonly OpName[] = ['route', 'moe'];
export const GQA_OPS: readonly OpName[] = ['writeKvCache', 'gqaAttention'];
