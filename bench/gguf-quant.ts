// Tensor types of a GGUF file, as llama.cpp's tools choose them, and the float32 -> GGUF bytes of each.
//
// * F32 / F16 / BF16 / Q8_0 are convert_hf_to_gguf.py's `--outtype`s (conversion/base.py
//   `prepare_tensors` of the llama.cpp release bundled with node-llama-cpp 3.21.1): every matrix in
//   the type, 1-D tensors and norm gains F32; Q8_0 rows that are not whole blocks fall back to F16.
// * The other block types are `llama-quantize --pure TYPE` files: every matrix in TYPE.
// * Q4_K_M is llama-quantize's mix (src/llama-quant.cpp `llama_tensor_get_type_impl`): Q4_K, but
//   Q6_K for the output matrix (or the tied embedding) and, in the layers `useMoreBits` picks, for
//   attn_v and ffn_down.
// Block types whose rows are not whole blocks fall back as llama-quantize does (tensor_type_fallback:
// Q4_K -> Q5_0, Q5_K -> Q5_1, Q6_K -> Q8_0, Q2_K / Q3_K -> Q4_0; F16 when even 32 does not divide).
//
// The encoders live in src/formats: F16 / BF16 round to nearest even, Q8_0 is ggml's
// quantize_row_q8_0_ref (bit for bit with gguf-py), the other blocks gguf-quantize.ts's quantizers.
import { QUANT_BLOCKS, QUANT_DTYPES, isQuantDType } from '../src/formats/dtype.js';
import type { QuantDType } from '../src/formats/dtype.js';
import { encodeBf16, encodeF16, encodeF32 } from '../src/formats/gguf-codec.js';
import { quantize } from '../src/formats/gguf-quantize.js';

/** A tensor's type in a written file. */
export type GgufTensorType = 'F32' | 'F16' | 'BF16' | QuantDType;

/** The file types this repository writes: one type for every matrix, or llama-quantize's Q4_K_M mix. */
export type GgufOutType = GgufTensorType | 'Q4_K_M';

export const GGUF_OUT_TYPES: readonly GgufOutType[] = ['F32', 'F16', 'BF16', ...QUANT_DTYPES, 'Q4_K_M'];

/** llama_ftype of each file type, written as `general.file_type` (informational for llama.cpp). */
export const LLAMA_FILE_TYPE: Readonly<Record<GgufOutType, number>> = {
  F32: 0, F16: 1, BF16: 32, Q4_0: 2, Q4_1: 3, Q8_0: 7, Q5_0: 8, Q5_1: 9, Q2_K: 10, Q3_K: 11, Q4_K: 14, Q5_K: 16, Q6_K: 18, Q4_K_M: 15,
};

const FALLBACK: Partial<Record<QuantDType, QuantDType>> = { Q2_K: 'Q4_0', Q3_K: 'Q4_0', Q4_K: 'Q5_0', Q5_K: 'Q5_1', Q6_K: 'Q8_0' };

/** llama-quantize's choice of the layers that get more bits in the K-quant mixes. */
export function useMoreBits(layer: number, layers: number): boolean {
  return layer < Math.trunc(layers / 8) || layer >= Math.trunc((7 * layers) / 8) || (layer - Math.trunc(layers / 8)) % 3 === 2;
}

function mixType(name: string, layers: number, tiedEmbedding: boolean): QuantDType {
  if (name === 'output.weight' || (tiedEmbedding && name === 'token_embd.weight')) return 'Q6_K';
  const m = /^blk\.(\d+)\.(attn_v|ffn_down)(_exps)?\.weight$/.exec(name);
  return m && useMoreBits(Number(m[1]), layers) ? 'Q6_K' : 'Q4_K';
}

/** A block type that holds rows of `cols` values: `type`, or llama-quantize's fallback for it. */
function fitRows(type: GgufTensorType, cols: number): GgufTensorType {
  if (!isQuantDType(type) || cols % QUANT_BLOCKS[type].elements === 0) return type;
  const next = FALLBACK[type];
  return next && cols % QUANT_BLOCKS[next].elements === 0 ? next : 'F16';
}

export interface TensorTypeContext {
  /** the model's layer count (for the Q4_K_M mix) */
  readonly layers: number;
  /** token_embd doubles as the output matrix */
  readonly tiedEmbedding: boolean;
}

/** The type a tensor (GGUF name, row-major shape) is stored in, in a file of type `out`. */
export function ggufTensorType(name: string, shape: readonly number[], out: GgufOutType, ctx: TensorTypeContext): GgufTensorType {
  if (shape.length <= 1 || name.endsWith('_norm.weight')) return 'F32';
  return fitRows(out === 'Q4_K_M' ? mixType(name, ctx.layers, ctx.tiedEmbedding) : out, shape[shape.length - 1]!);
}

/** Little-endian GGUF bytes of `values` (row-major; blocks run along the rows). */
export function encodeGgufTensor(values: Float32Array, type: GgufTensorType): Uint8Array {
  switch (type) {
    case 'F32': return encodeF32(values);
    case 'F16': return encodeF16(values);
    case 'BF16': return encodeBf16(values);
    default: return quantize(type, values);
  }
}
