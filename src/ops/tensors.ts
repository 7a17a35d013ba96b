// The data ops exchange: activations, weights in their file dtype, and the small structured
// results of selection and routing. Backends define the concrete classes; models see only these.
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

/** 'fp8-act' quantizes a linear layer's input per 128-block of each row (DeepSeek's FP8 semantics). */
export type LinearMode = 'plain' | 'fp8-act';
