// Element codecs for GGUF tensor data: decoding F32 / F16 / BF16 and the quantized block types
// (gguf-dequant.ts) to float32, and the F32 / F16 / BF16 / Q8_0 encoders used by the writer, tests
// and model generators (the other block types: gguf-quantize.ts).
//
// Layouts (little-endian):
//   F32   4 bytes per element.
//   F16   IEEE half, 2 bytes per element.
//   BF16  upper 16 bits of a float32, 2 bytes per element.
//   Q8_0  blocks of 32 elements, 34 bytes: { f16 d; int8 qs[32] }, value = d * qs[i].
//         Quantization (ggml quantize_row_q8_0_ref): d = max|x| / 127, qs = round(x / d)
//         (round half away from zero), d stored as f16.
import type { GgmlTypeInfo } from './gguf-types.js';
import { f16ToF32, f32ToBf16, f32ToF16, isQuantDType } from './dtype.js';
import { dequantizeBlocks } from './gguf-dequant.js';

let f16Table: Float32Array | undefined;

/** float32 value of every f16 bit pattern (256 KiB, built on first use). */
function halfTable(): Float32Array {
  if (f16Table) return f16Table;
  const t = new Float32Array(65536);
  for (let h = 0; h < 65536; h++) t[h] = f16ToF32(h);
  f16Table = t;
  return t;
}


/** The buffer and offset to view `bytes` with elements of `elementBytes`, copying only when misaligned. */
function aligned(bytes: Uint8Array, elementBytes: number): [ArrayBuffer, number] {
  if (bytes.byteOffset % elementBytes === 0 && bytes.buffer instanceof ArrayBuffer) return [bytes.buffer, bytes.byteOffset];
  return [bytes.slice().buffer, 0];
}

/** ggml types this module can decode to float32. */
export function canDequantize(type: GgmlTypeInfo): boolean {
  return type.name === 'F32' || type.name === 'F16' || type.name === 'BF16' || isQuantDType(type.name);
}

/**
 * Decodes `elements` elements of `type` from `bytes` to float32. Throws a plain Error for an
 * unsupported type or a short buffer; callers that know the file wrap it in a GgufError.
 */
export function dequantize(type: GgmlTypeInfo, bytes: Uint8Array, elements: number): Float32Array {
  const need = (elements / type.blockSize) * type.blockBytes;
  if (!Number.isInteger(need) || bytes.byteLength < need) {
    throw new Error(`${type.name}: ${bytes.byteLength} bytes cannot hold ${elements} elements`);
  }
  const out = new Float32Array(elements);
  switch (type.name) {
    case 'F32':
      out.set(new Float32Array(...aligned(bytes, 4), elements));
      return out;
    case 'F16': {
      const t = halfTable();
      const h = new Uint16Array(...aligned(bytes, 2), elements);
      for (let i = 0; i < elements; i++) out[i] = t[h[i]!]!;
      return out;
    }
    case 'BF16': {
      const h = new Uint16Array(...aligned(bytes, 2), elements);
      const o = new Uint32Array(out.buffer);
      for (let i = 0; i < elements; i++) o[i] = h[i]! << 16;
      return out;
    }
    default:
      if (!isQuantDType(type.name)) throw new Error(`dequantizing ${type.name} is not supported (F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and Q2_K..Q6_K are)`);
      dequantizeBlocks(type.name, bytes, 0, elements / type.blockSize, out);
      return out;
  }
}

/** Float32 values to little-endian F32 bytes. */
export function encodeF32(values: ArrayLike<number>): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

export function encodeBf16(values: ArrayLike<number>): Uint8Array {
  const h = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) h[i] = f32ToBf16(values[i]!);
  return new Uint8Array(h.buffer);
}

export function encodeF16(values: ArrayLike<number>): Uint8Array {
  const h = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) h[i] = f32ToF16(values[i]!);
  return new Uint8Array(h.buffer);
}

/** Q8_0 quantization as in ggml's reference quantize_row_q8_0_ref; length must be a multiple of 32. */
export function quantizeQ8_0(values: ArrayLike<number>): Uint8Array {
  if (values.length % 32 !== 0) throw new Error(`Q8_0 needs a multiple of 32 values, got ${values.length}`);
  const blocks = values.length / 32;
  const out = new Uint8Array(blocks * 34);
  for (let b = 0; b < blocks; b++) {
    let amax = 0;
    for (let i = 0; i < 32; i++) amax = Math.max(amax, Math.abs(values[b * 32 + i]!));
    const d = Math.fround(amax / 127);
    const id = d !== 0 ? Math.fround(1 / d) : 0;
    const dh = f32ToF16(d);
    const p = b * 34;
    out[p] = dh & 0xff;
    out[p + 1] = dh >>> 8;
    for (let i = 0; i < 32; i++) {
      const x = Math.fround(values[b * 32 + i]! * id);
      const q = Math.sign(x) * Math.round(Math.abs(x)); // roundf: half away from zero
      out[p + 2 + i] = q & 0xff;
    }
  }
  return out;
}
