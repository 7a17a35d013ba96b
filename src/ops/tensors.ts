// The data ops exchange: activations, weights in their file dtype, and the small structured
// results of selection and routing. Backends define the concrete classes; models see only these.
import { QUANT_BLOCKS, isQuantDType } from '../formats/dtype.js';
import type { QuantDType } from '../formats/dtype.js';
import { ModelFormatError } from '../formats/errors.js';
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

/** Weights in their file dtype: floats, DeepSeek's block-scaled FP8, or GGUF's quantized blocks. */
export type WeightDType = 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | QuantDType;

/**
 * The dtype a tensor is used with as a weight, or a ModelFormatError naming it: a dtype no op
 * computes with, or quantized rows that are not whole blocks (blocks run along a row).
 */
export function weightDType(t: TensorInfo): WeightDType {
  const d = t.dtype;
  if (isQuantDType(d)) {
    const block = QUANT_BLOCKS[d].elements;
    const cols = t.shape[t.shape.length - 1] ?? 0;
    if (cols % block !== 0) throw new ModelFormatError(t.file, `${d} rows of ${cols} values are not whole blocks of ${block}`, { tensor: t.name });
    return d;
  }
  if (d === 'F32' || d === 'F16' || d === 'BF16' || d === 'F8_E4M3') return d;
  throw new ModelFormatError(t.file, `dtype ${d} cannot be used as a weight`, { tensor: t.name });
}

/** A weight as stored in the model file (FP8 and GGUF blocks stay in their bytes), loaded on first use. */
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

/**
 * Expert parallelism: the routed experts one rank holds, experts [first, first + count) of the
 * layer's `total` (the routing's ids are the layer's). Pairs routed elsewhere contribute nothing.
 */
export interface ExpertShard {
  readonly first: number;
  readonly total: number;
}

/**
 * How a linear layer's input meets the weight:
 * - 'plain': float32 activations times the dequantized weight;
 * - 'fp8-act': an FP8 weight's input quantized per 128-block of each row (DeepSeek's FP8
 *   semantics; other weights as 'plain');
 * - 'ggml': llama.cpp's CPU matmul: each input row converted to the weight's vec_dot type first
 *   (F32 unchanged, F16 / BF16 rounded, Q4_0/Q5_0/Q8_0 to Q8_0, Q4_1/Q5_1 to Q8_1, K types to
 *   Q8_K; src/formats/gguf-act-quant.ts), then multiplied with the dequantized weight. FP8
 *   weights have no such semantics (an error).
 */
export type LinearMode = 'plain' | 'fp8-act' | 'ggml';
