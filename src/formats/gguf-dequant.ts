// Dequantization of GGUF's quantized block types to float32, value for value what llama.cpp's
// dequantize_row_* (ggml-quants.c, the get_rows of its CPU backend) computes: the same float32
// operations in the same order, so the results are bit-exact (checked against llama.cpp in
// gguf-dequant-llama-cpp.test.ts).
//
// Block layouts (little-endian, no padding; d, m, dmin are IEEE halves; QK_K = 256):
//   Q8_0  32 elements / 34 bytes: d, int8 qs[32]                       x = qs·d
//   Q4_0  32 / 18: d, qs[16] (element j: low nibble of qs[j], j+16: high nibble)   x = (q - 8)·d
//   Q4_1  32 / 20: d, m, qs[16]                                      x = q·d + m
//   Q5_0  32 / 22: d, u32 qh (bit j: 5th bit of element j), qs[16]   x = (q - 16)·d
//   Q5_1  32 / 24: d, m, qh, qs[16]                                  x = q·d + m
//   Q2_K  256 / 84: scales[16] (low nibble scale, high nibble min per 16), qs[64] (2 bits), d, dmin
//   Q3_K  256 / 110: hmask[32] (3rd bit), qs[64] (2 bits), scales[12] (16 x 6 bits, offset 32), d
//   Q4_K  256 / 144: d, dmin, scales[12] (8 x (6-bit scale, 6-bit min)), qs[128] (4 bits)
//   Q5_K  256 / 176: d, dmin, scales[12], qh[32] (5th bit), qs[128]
//   Q6_K  256 / 210: ql[128] (low 4 bits), qh[64] (high 2 bits), int8 scales[16], d
// In the K types element e of a block belongs to sub-block e / 16 (Q2_K, Q3_K, Q6_K) or e / 32
// (Q4_K, Q5_K), each with its own scale (and min).
import type { QuantDType } from './dtype.js';
import { ggmlType } from './gguf-types.js';
import { f16ToF32 } from './half.js';

const fr = Math.fround;

type BlockDecoder = (b: Uint8Array, p: number, out: Float32Array, o: number) => void;

const half = (b: Uint8Array, p: number): number => f16ToF32(b[p]! | (b[p + 1]! << 8));
const int8 = (u: number): number => (u << 24) >> 24;

function q8_0(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p);
  for (let j = 0; j < 32; j++) out[o + j] = fr(int8(b[p + 2 + j]!) * d);
}

function q4_0(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p);
  for (let j = 0; j < 16; j++) {
    const q = b[p + 2 + j]!;
    out[o + j] = fr(((q & 15) - 8) * d);
    out[o + j + 16] = fr(((q >> 4) - 8) * d);
  }
}

function q4_1(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p);
  const m = half(b, p + 2);
  for (let j = 0; j < 16; j++) {
    const q = b[p + 4 + j]!;
    out[o + j] = fr(fr((q & 15) * d) + m);
    out[o + j + 16] = fr(fr((q >> 4) * d) + m);
  }
}

const u32At = (b: Uint8Array, p: number): number => (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 0;

/** The two 5-bit quants of byte j of a Q5 block (elements j and j + 16). */
function q5Pair(b: Uint8Array, qs: number, qh: number, j: number): [number, number] {
  const q = b[qs + j]!;
  return [(q & 15) | (((qh >>> j) << 4) & 0x10), (q >> 4) | ((qh >>> (j + 12)) & 0x10)];
}

function q5_0(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p);
  const qh = u32At(b, p + 2);
  for (let j = 0; j < 16; j++) {
    const [x0, x1] = q5Pair(b, p + 6, qh, j);
    out[o + j] = fr((x0 - 16) * d);
    out[o + j + 16] = fr((x1 - 16) * d);
  }
}

function q5_1(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p);
  const m = half(b, p + 2);
  const qh = u32At(b, p + 4);
  for (let j = 0; j < 16; j++) {
    const [x0, x1] = q5Pair(b, p + 8, qh, j);
    out[o + j] = fr(fr(x0 * d) + m);
    out[o + j + 16] = fr(fr(x1 * d) + m);
  }
}

// Q2_K / Q3_K: sub-block i = 8n + 2j + h (n < 2, j < 4, h < 2) holds elements 16i .. 16i + 15; its
// 2-bit quants are bits 2j.. of qs[32n + 16h + l].
function q2_K(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p + 80);
  const min = half(b, p + 82);
  for (let i = 0; i < 16; i++) {
    const n = i >> 3;
    const j = (i >> 1) & 3;
    const sc = b[p + i]!;
    const dl = fr(d * (sc & 15));
    const ml = fr(min * (sc >> 4));
    const qs = p + 16 + 32 * n + 16 * (i & 1);
    for (let l = 0; l < 16; l++) out[o + 16 * i + l] = fr(fr(dl * ((b[qs + l]! >> (2 * j)) & 3)) - ml);
  }
}

/** The 6-bit scale (before the offset of 32) of Q3_K sub-block i from the 12 scale bytes at s. */
export function q3kScale(b: Uint8Array, s: number, i: number): number {
  const low = i < 8 ? b[s + i]! & 15 : b[s + i - 8]! >> 4;
  const high = (b[s + 8 + (i & 3)]! >> (2 * (i >> 2))) & 3;
  return low | (high << 4);
}

function q3_K(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p + 108);
  for (let i = 0; i < 16; i++) {
    const n = i >> 3;
    const j = (i >> 1) & 3;
    const h = i & 1;
    const dl = fr(d * (q3kScale(b, p + 96, i) - 32));
    const qs = p + 32 + 32 * n + 16 * h;
    const hm = p + 16 * h;
    const bit = 4 * n + j;
    for (let l = 0; l < 16; l++) {
      const q = ((b[qs + l]! >> (2 * j)) & 3) - ((b[hm + l]! >> bit) & 1 ? 0 : 4);
      out[o + 16 * i + l] = fr(dl * q);
    }
  }
}

/** (scale, min) of Q4_K / Q5_K sub-block j from the 12 scale bytes at s (ggml's get_scale_min_k4). */
export function k4ScaleMin(b: Uint8Array, s: number, j: number): [number, number] {
  if (j < 4) return [b[s + j]! & 63, b[s + j + 4]! & 63];
  return [(b[s + j + 4]! & 15) | ((b[s + j - 4]! >> 6) << 4), (b[s + j + 4]! >> 4) | ((b[s + j]! >> 6) << 4)];
}

// Q4_K / Q5_K: sub-block i (32 elements) is the low (i even) or high (i odd) nibble of qs[32·(i>>1) + l];
// Q5_K's fifth bit of element l of sub-block i is bit i of qh[l] (the 32 bytes after the scales).
function kQuant(fifthBit: boolean): BlockDecoder {
  return (b, p, out, o) => {
    const d = half(b, p);
    const min = half(b, p + 2);
    for (let i = 0; i < 8; i++) {
      const [sc, m] = k4ScaleMin(b, p + 4, i);
      const d1 = fr(d * sc);
      const m1 = fr(min * m);
      const qs = p + (fifthBit ? 48 : 16) + 32 * (i >> 1);
      const shift = 4 * (i & 1);
      for (let l = 0; l < 32; l++) {
        const q = ((b[qs + l]! >> shift) & 15) + (fifthBit && (b[p + 16 + l]! >> i) & 1 ? 16 : 0);
        out[o + 32 * i + l] = fr(fr(d1 * q) - m1);
      }
    }
  };
}

// Q6_K: sub-block i = 8n + 2g + h (n < 2, g < 4, h < 2), elements 16i + l: L = 16h + l indexes
// ql[64n + L (+32 for odd g)] (low nibble for g < 2, high for g ≥ 2) and bits 2g.. of qh[32n + L].
function q6_K(b: Uint8Array, p: number, out: Float32Array, o: number): void {
  const d = half(b, p + 208);
  for (let i = 0; i < 16; i++) {
    const n = i >> 3;
    const g = (i >> 1) & 3;
    const L0 = 16 * (i & 1);
    const dsc = fr(d * int8(b[p + 192 + i]!));
    for (let l = 0; l < 16; l++) {
      const L = L0 + l;
      const lo = (b[p + 64 * n + L + 32 * (g & 1)]! >> (4 * (g >> 1))) & 15;
      const hi = (b[p + 128 + 32 * n + L]! >> (2 * g)) & 3;
      out[o + 16 * i + l] = fr(dsc * ((lo | (hi << 4)) - 32));
    }
  }
}

const DECODERS: Readonly<Record<QuantDType, BlockDecoder>> = { Q8_0: q8_0, Q4_0: q4_0, Q4_1: q4_1, Q5_0: q5_0, Q5_1: q5_1, Q2_K: q2_K, Q3_K: q3_K, Q4_K: kQuant(false), Q5_K: kQuant(true), Q6_K: q6_K };

/**
 * Dequantizes `blocks` consecutive blocks of `dtype` starting at byte `at` of `bytes` into `out`
 * from index `o`.
 */
export function dequantizeBlocks(dtype: QuantDType, bytes: Uint8Array, at: number, blocks: number, out: Float32Array, o = 0): void {
  const { blockSize: elements, blockBytes: size } = ggmlType(dtype);
  if (at + blocks * size > bytes.byteLength) throw new RangeError(`${dtype}: ${blocks} blocks at byte ${at} overrun ${bytes.byteLength} bytes`);
  const decode = DECODERS[dtype];
  for (let i = 0; i < blocks; i++) decode(bytes, at + i * size, out, o + i * elements);
}

/** The offset m (Q4_1, Q5_1: the fp16 at byte 2 of each block) of every block of a row. */
export function blockMins(dtype: 'Q4_1' | 'Q5_1', bytes: Uint8Array, at: number, blocks: number): Float32Array {
  const size = ggmlType(dtype).blockBytes;
  return Float32Array.from({ length: blocks }, (_, i) => half(bytes, at + i * size + 2));
}
