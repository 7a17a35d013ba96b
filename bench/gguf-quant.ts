// Tensor types as llama.cpp's converter chooses them for an output type (`--outtype`), and the
// float32 -> GGUF bytes of each (convert_hf_to_gguf.py, conversion/base.py `prepare_tensors`, of
// the llama.cpp release bundled with node-llama-cpp 3.21.1).
//
// The encoders themselves live in src/formats/gguf-codec.ts: F16 / BF16 round to nearest even
// (numpy's astype(float16) and gguf-py's bf16), Q8_0 is ggml's quantize_row_q8_0_ref (per block of
// 32: d = max|x| / 127 in float32, q = roundf(x * (1 / d)), d stored as f16), which gguf-py
// reproduces bit for bit.
import { encodeBf16, encodeF16, encodeF32, quantizeQ8_0 } from '../src/formats/gguf-codec.js';
import { ggmlType } from '../src/formats/gguf-types.js';

/** The output types this converter writes. */
export type GgufOutType = 'F32' | 'F16' | 'BF16' | 'Q8_0';

/** llama_ftype of each output type, written as `general.file_type` (informational for llama.cpp). */
export const LLAMA_FILE_TYPE: Readonly<Record<GgufOutType, number>> = { F32: 0, F16: 1, Q8_0: 7, BF16: 32 };

/**
 * The type a tensor is stored in: 1-D tensors (biases, norm gains, rope_freqs) and every
 * `*_norm.weight` stay F32, as llama.cpp's kernels expect; a Q8_0 matrix whose rows are not whole
 * blocks of 32 falls back to F16, as gguf-py does when quantization raises QuantError.
 */
export function converterTensorType(name: string, shape: readonly number[], out: GgufOutType): GgufOutType {
  if (shape.length <= 1 || name.endsWith('_norm.weight')) return 'F32';
  if (out === 'Q8_0' && shape[shape.length - 1]! % ggmlType('Q8_0').blockSize !== 0) return 'F16';
  return out;
}

/** Little-endian GGUF bytes of `values` (row-major; Q8_0 blocks run along the rows). */
export function encodeGgufTensor(values: Float32Array, type: GgufOutType): Uint8Array {
  switch (type) {
    case 'F32': return encodeF32(values);
    case 'F16': return encodeF16(values);
    case 'BF16': return encodeBf16(values);
    case 'Q8_0': return quantizeQ8_0(values);
  }
}
