// Storage dtypes of model files (safetensors' element types and GGUF's quantized block types) and
// the decoding of floating-point elements to float32.
import { E4M3_VALUES } from '../numerics/fp8.js';
import { ggmlType } from './gguf-types.js';
import { dequantizeBlocks } from './gguf-dequant.js';
import { bf16ToF32, f16ToF32 } from './half.js';

export { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './half.js';

/** safetensors' element types (what a safetensors header may name). */
export type StorageDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'F8_E4M3' | 'I64' | 'I32' | 'I16' | 'I8' | 'U8' | 'BOOL';

/** GGUF block types: fixed-size blocks of elements with their own scales, running along a row. */
export type QuantDType = 'Q8_0' | 'Q4_0' | 'Q4_1' | 'Q5_0' | 'Q5_1' | 'Q2_K' | 'Q3_K' | 'Q4_K' | 'Q5_K' | 'Q6_K';

export const QUANT_DTYPES: readonly QuantDType[] = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'];

/** The dtype of a tensor in any supported file (GGUF's F32/F16/BF16 are the safetensors ones). */
export type TensorDType = StorageDType | QuantDType;

export interface QuantBlock {
  readonly elements: number;
  readonly bytes: number;
}

/** Elements and bytes of one block of each quantized type (ggml-common.h). */
export const QUANT_BLOCKS: Readonly<Record<QuantDType, QuantBlock>> = Object.freeze(
  Object.fromEntries(QUANT_DTYPES.map((d) => [d, Object.freeze({ elements: ggmlType(d).blockSize, bytes: ggmlType(d).blockBytes })])) as Record<QuantDType, QuantBlock>,
);

export function isQuantDType(s: string): s is QuantDType {
  return (QUANT_DTYPES as readonly string[]).includes(s);
}

/** Bytes of `elements` elements of `dtype`; a quantized tensor must hold whole blocks. */
export function tensorByteSize(dtype: TensorDType, elements: number): number {
  if (!isQuantDType(dtype)) return elements * DTYPE_BYTES[dtype];
  const b = QUANT_BLOCKS[dtype];
  if (elements % b.elements !== 0) throw new RangeError(`${dtype} stores blocks of ${b.elements} elements; ${elements} is not a whole number of blocks`);
  return (elements / b.elements) * b.bytes;
}

export const DTYPE_BYTES: Readonly<Record<StorageDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export function isStorageDType(s: string): s is StorageDType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** Decode raw little-endian bytes of a floating-point or quantized dtype to float32. */
export function decodeToF32(bytes: Uint8Array, dtype: TensorDType): Float32Array {
  if (isQuantDType(dtype)) {
    const { elements, bytes: size } = QUANT_BLOCKS[dtype];
    if (bytes.byteLength % size !== 0) throw new RangeError(`${bytes.byteLength} bytes are not whole ${dtype} blocks of ${size}`);
    const out = new Float32Array((bytes.byteLength / size) * elements);
    dequantizeBlocks(dtype, bytes, 0, bytes.byteLength / size, out);
    return out;
  }
  const n = bytes.byteLength / DTYPE_BYTES[dtype];
  const out = new Float32Array(n);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
      break;
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(i * 8, true);
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) out[i] = bf16ToF32(view.getUint16(i * 2, true));
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToF32(view.getUint16(i * 2, true));
      break;
    case 'F8_E4M3':
      for (let i = 0; i < n; i++) out[i] = E4M3_VALUES[bytes[i]!]!;
      break;
    default:
      throw new Error(`dtype ${dtype} is not a floating-point type`);
  }
  return out;
}
