// Simple quantizers for GGUF's block types, for writing test models and random checkpoints. They
// produce valid blocks (every field in range, the layouts of gguf-dequant.ts) with plain max-based
// scales; they do not reproduce llama.cpp's quantization search (make_qx_quants, make_qkx2_quants,
// importance matrices), so a model quantized here differs from one llama-quantize writes, while
// any reader decodes both the same way. Q4_0/Q4_1/Q5_0/Q5_1 follow ggml's reference quantizers.
import { QUANT_BLOCKS, f16ToF32, f32ToF16 } from './dtype.js';
import type { QuantDType } from './dtype.js';
import { quantizeQ8_0 } from './gguf-codec.js';

const fr = Math.fround;

type BlockEncoder = (x: ArrayLike<number>, at: number, out: Uint8Array, p: number) => void;

/** Writes an fp16 at p and returns the float32 value it holds. */
function putHalf(out: Uint8Array, p: number, v: number): number {
  const h = f32ToF16(v);
  out[p] = h & 0xff;
  out[p + 1] = h >> 8;
  return f16ToF32(h);
}

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v));

/** The value of largest magnitude among x[at .. at + n) (the first on ties), and the min and max. */
function extremes(x: ArrayLike<number>, at: number, n: number): { signedMax: number; min: number; max: number } {
  let signedMax = 0;
  let min = Infinity;
  let max = -Infinity;
  for (let i = at; i < at + n; i++) {
    const v = x[i]!;
    if (Math.abs(v) > Math.abs(signedMax)) signedMax = v;
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  return { signedMax, min, max };
}

/** Q4_0 / Q5_0: d = signedMax / -2^(bits-1), q = x/d + 2^(bits-1) (quantize_row_q4_0_ref / q5_0_ref). */
function symmetric32(bits: 4 | 5): BlockEncoder {
  const half = 1 << (bits - 1);
  const qs = bits === 4 ? 2 : 6;
  return (x, at, out, p) => {
    const { signedMax } = extremes(x, at, 32);
    const d = fr(signedMax / -half);
    putHalf(out, p, d);
    const id = d !== 0 ? fr(1 / d) : 0;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(2 * half - 1, Math.trunc(fr(fr(x[at + j]! * id) + half + 0.5)));
      const q1 = Math.min(2 * half - 1, Math.trunc(fr(fr(x[at + j + 16]! * id) + half + 0.5)));
      out[p + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    if (bits === 5) for (let k = 0; k < 4; k++) out[p + 2 + k] = (qh >>> (8 * k)) & 0xff;
  };
}

/** Q4_1 / Q5_1: d = (max - min) / (2^bits - 1), m = min, q = (x - min)/d (quantize_row_q4_1_ref / q5_1_ref). */
function affine32(bits: 4 | 5): BlockEncoder {
  const top = (1 << bits) - 1;
  const qs = bits === 4 ? 4 : 8;
  return (x, at, out, p) => {
    const { min, max } = extremes(x, at, 32);
    const d = fr((max - min) / top);
    putHalf(out, p, d);
    putHalf(out, p + 2, min);
    const id = d !== 0 ? fr(1 / d) : 0;
    let qh = 0;
    for (let j = 0; j < 16; j++) {
      const q0 = Math.min(top, Math.trunc(fr(fr(fr(x[at + j]! - min) * id) + 0.5)));
      const q1 = Math.min(top, Math.trunc(fr(fr(fr(x[at + j + 16]! - min) * id) + 0.5)));
      out[p + qs + j] = (q0 & 15) | ((q1 & 15) << 4);
      qh |= ((q0 >> 4) << j) | ((q1 >> 4) << (j + 16));
    }
    if (bits === 5) for (let k = 0; k < 4; k++) out[p + 4 + k] = (qh >>> (8 * k)) & 0xff;
  };
}

/**
 * Per sub-block scale and min for an unsigned quant of `top` levels (min ≤ 0 so that zero stays
 * representable), then both quantized to `levels` steps of one super-block scale each.
 */
function affineSubBlocks(x: ArrayLike<number>, at: number, subs: number, size: number, top: number, levels: number, out: Uint8Array, dAt: number, dminAt: number) {
  const scale: number[] = [];
  const mins: number[] = [];
  for (let s = 0; s < subs; s++) {
    const { min, max } = extremes(x, at + s * size, size);
    const lo = Math.min(0, min);
    scale.push((max - lo) / top);
    mins.push(-lo);
  }
  const d = putHalf(out, dAt, Math.max(...scale) / levels);
  const dmin = putHalf(out, dminAt, Math.max(...mins) / levels);
  const sc = scale.map((v) => (d > 0 ? clamp(Math.round(v / d), 0, levels) : 0));
  const m = mins.map((v) => (dmin > 0 ? clamp(Math.round(v / dmin), 0, levels) : 0));
  /** the quant of x[i] in sub-block s */
  const quant = (s: number, i: number): number => {
    const step = d * sc[s]!;
    return step > 0 ? clamp(Math.round((x[i]! + dmin * m[s]!) / step), 0, top) : 0;
  };
  return { sc, m, quant };
}

function q2_K(x: ArrayLike<number>, at: number, out: Uint8Array, p: number): void {
  const { sc, m, quant } = affineSubBlocks(x, at, 16, 16, 3, 15, out, p + 80, p + 82);
  for (let i = 0; i < 16; i++) {
    out[p + i] = sc[i]! | (m[i]! << 4);
    const qs = p + 16 + 32 * (i >> 3) + 16 * (i & 1);
    const shift = 2 * ((i >> 1) & 3);
    for (let l = 0; l < 16; l++) out[qs + l]! |= quant(i, at + 16 * i + l) << shift;
  }
}

function q3_K(x: ArrayLike<number>, at: number, out: Uint8Array, p: number): void {
  const amax = Array.from({ length: 16 }, (_, i) => Math.abs(extremes(x, at + 16 * i, 16).signedMax));
  const d = putHalf(out, p + 108, Math.max(...amax) / 4 / 31);
  for (let i = 0; i < 16; i++) {
    const sc = d > 0 ? clamp(Math.round(amax[i]! / 4 / d), 0, 31) : 0; // stored with an offset of 32
    const v = sc + 32;
    out[p + 96 + (i < 8 ? i : i - 8)]! |= (v & 15) << (i < 8 ? 0 : 4);
    out[p + 96 + 8 + (i & 3)]! |= (v >> 4) << (2 * (i >> 2));
    const step = d * sc;
    const n = i >> 3;
    const j = (i >> 1) & 3;
    for (let l = 0; l < 16; l++) {
      const u = (step > 0 ? clamp(Math.round(x[at + 16 * i + l]! / step), -4, 3) : 0) + 4; // 0..7
      out[p + 32 + 32 * n + 16 * (i & 1) + l]! |= (u & 3) << (2 * j);
      out[p + 16 * (i & 1) + l]! |= (u >> 2) << (4 * n + j);
    }
  }
}

/** The 12 scale bytes of Q4_K / Q5_K holding 8 (6-bit scale, 6-bit min) pairs. */
function putK4Scales(out: Uint8Array, s: number, sc: readonly number[], m: readonly number[]): void {
  for (let j = 0; j < 4; j++) {
    out[s + j] = sc[j]! | ((sc[j + 4]! >> 4) << 6);
    out[s + j + 4] = m[j]! | ((m[j + 4]! >> 4) << 6);
    out[s + j + 8] = (sc[j + 4]! & 15) | ((m[j + 4]! & 15) << 4);
  }
}

function kQuant(bits: 4 | 5): BlockEncoder {
  const top = (1 << bits) - 1;
  return (x, at, out, p) => {
    const { sc, m, quant } = affineSubBlocks(x, at, 8, 32, top, 63, out, p, p + 2);
    putK4Scales(out, p + 4, sc, m);
    const qs = p + (bits === 4 ? 16 : 48);
    for (let i = 0; i < 8; i++) {
      for (let l = 0; l < 32; l++) {
        const q = quant(i, at + 32 * i + l);
        out[qs + 32 * (i >> 1) + l]! |= (q & 15) << (4 * (i & 1));
        if (bits === 5) out[p + 16 + l]! |= (q >> 4) << i;
      }
    }
  };
}

function q6_K(x: ArrayLike<number>, at: number, out: Uint8Array, p: number): void {
  const amax = Array.from({ length: 16 }, (_, i) => Math.abs(extremes(x, at + 16 * i, 16).signedMax));
  const d = putHalf(out, p + 208, Math.max(...amax) / 32 / 127);
  for (let i = 0; i < 16; i++) {
    const sc = d > 0 ? clamp(Math.round(amax[i]! / 32 / d), 0, 127) : 0;
    out[p + 192 + i] = sc;
    const step = d * sc;
    const n = i >> 3;
    const g = (i >> 1) & 3;
    for (let l = 0; l < 16; l++) {
      const L = 16 * (i & 1) + l;
      const u = (step > 0 ? clamp(Math.round(x[at + 16 * i + l]! / step), -32, 31) : 0) + 32; // 0..63
      out[p + 64 * n + L + 32 * (g & 1)]! |= (u & 15) << (4 * (g >> 1));
      out[p + 128 + 32 * n + L]! |= (u >> 4) << (2 * g);
    }
  }
}

const ENCODERS: Readonly<Record<Exclude<QuantDType, 'Q8_0'>, BlockEncoder>> = {
  Q4_0: symmetric32(4),
  Q5_0: symmetric32(5),
  Q4_1: affine32(4),
  Q5_1: affine32(5),
  Q2_K: q2_K,
  Q3_K: q3_K,
  Q4_K: kQuant(4),
  Q5_K: kQuant(5),
  Q6_K: q6_K,
};

/** `values` (row-major, rows a whole number of blocks) as blocks of `dtype`. */
export function quantize(dtype: QuantDType, values: ArrayLike<number>): Uint8Array {
  const { elements, bytes } = QUANT_BLOCKS[dtype];
  if (values.length % elements !== 0) throw new RangeError(`${dtype} needs a multiple of ${elements} values, got ${values.length}`);
  if (dtype === 'Q8_0') return quantizeQ8_0(values);
  const encode = ENCODERS[dtype];
  const blocks = values.length / elements;
  const out = new Uint8Array(blocks * bytes);
  for (let b = 0; b < blocks; b++) encode(values, b * elements, out, b * bytes);
  return out;
}
