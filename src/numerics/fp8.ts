// FP8 E4M3 ("e4m3fn": 1 sign, 4 exponent bits with bias 7, 3 mantissa bits, max 448, 0x7F/0xFF NaN)
// and the block activation quantization DeepSeek's kernels apply (ue8m0 power-of-two scales).
// Every function here is an exact emulation: results are bit-identical to the reference kernels.

export const E4M3_MAX = 448;
export const QUANT_BLOCK = 128;

/** Value of every e4m3fn code 0..255. */
export const E4M3_VALUES: Float32Array = (() => {
  const table = new Float32Array(256);
  for (let code = 0; code < 256; code++) {
    const sign = code & 0x80 ? -1 : 1;
    const exp = (code >> 3) & 0xf;
    const man = code & 0x7;
    let v: number;
    if (exp === 0xf && man === 0x7) v = NaN;
    else if (exp === 0) v = (man / 8) * 2 ** -6;
    else v = (1 + man / 8) * 2 ** (exp - 7);
    table[code] = sign * v;
  }
  return table;
})();

function roundHalfEven(v: number): number {
  const f = Math.floor(v);
  const d = v - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/** floor(log2(a)) for a > 0, exact (Math.log2 can be off by one next to powers of two). */
function floorLog2(a: number): number {
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  else if (2 ** (e + 1) <= a) e++;
  return e;
}

/** Round to the nearest e4m3fn value, ties to even mantissa, after clamping to [-448, 448]. */
export function roundE4M3(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const c = Math.min(Math.max(x, -E4M3_MAX), E4M3_MAX);
  const a = Math.abs(c);
  if (a === 0) return c; // keeps the sign of zero
  // Spacing of representable values: 2^-9 in the subnormal range, 2^(e-3) in binade e.
  const quantum = a < 2 ** -6 ? 2 ** -9 : 2 ** (floorLog2(a) - 3);
  const r = roundHalfEven(a / quantum) * quantum;
  return c < 0 ? -r : r;
}

/** Code (0..255) of an e4m3fn value that is exactly representable (as returned by roundE4M3). */
export function encodeE4M3(v: number): number {
  if (Number.isNaN(v)) return 0x7f;
  const sign = v < 0 || Object.is(v, -0) ? 0x80 : 0;
  const a = Math.abs(v);
  if (a === 0) return sign;
  if (a < 2 ** -6) return sign | Math.round(a / 2 ** -9);
  const e = floorLog2(a);
  const man = Math.round((a / 2 ** e - 1) * 8);
  return sign | ((e + 7) << 3) | man;
}

const F32_INV_448 = Math.fround(1 / 448);
const F32_AMAX_FLOOR = Math.fround(1e-4);
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/**
 * The ue8m0 scale of a block with absolute maximum `amax`:
 * 2^ceil(log2(max(amax, 1e-4) * f32(1/448))), the ceiling taken on the float32 bits.
 */
export function ue8m0Scale(amax: number): number {
  const p = Math.fround(Math.max(amax, F32_AMAX_FLOOR) * F32_INV_448);
  f32[0] = p;
  const bits = u32[0]!;
  const exp = ((bits >>> 23) & 0xff) - 127;
  const mantissaZero = (bits & 0x7fffff) === 0;
  return 2 ** (mantissaZero ? exp : exp + 1);
}

/** The plain (not power-of-two) scale: max(amax, 1e-4) * f32(1/448) in float32. */
export function plainScale(amax: number): number {
  return Math.fround(Math.max(amax, F32_AMAX_FLOOR) * F32_INV_448);
}

export type ScaleFormat = 'ue8m0' | 'plain';

/**
 * Quantize each 128-wide block of each row: values[i] = e4m3(x[i] / s), one scale per block.
 * x: [rows, cols] row-major; returns values [rows, cols] (e4m3 values as floats), scales [rows, ceil(cols/128)].
 */
export function actQuant(
  x: Float32Array,
  cols: number,
  format: ScaleFormat = 'ue8m0',
): { values: Float32Array; scales: Float32Array } {
  const rows = x.length / cols;
  const blocks = Math.ceil(cols / QUANT_BLOCK);
  const values = new Float32Array(x.length);
  const scales = new Float32Array(rows * blocks);
  for (let r = 0; r < rows; r++) {
    for (let b = 0; b < blocks; b++) {
      const start = r * cols + b * QUANT_BLOCK;
      const end = r * cols + Math.min(cols, (b + 1) * QUANT_BLOCK);
      let amax = 0;
      for (let i = start; i < end; i++) amax = Math.max(amax, Math.abs(x[i]!));
      const s = format === 'ue8m0' ? ue8m0Scale(amax) : plainScale(amax);
      scales[r * blocks + b] = s;
      for (let i = start; i < end; i++) values[i] = roundE4M3(Math.fround(x[i]! / s));
    }
  }
  return { values, scales };
}

/** x -> e4m3(x / s) * s per 128-block of each row (the KV-latent round trip of DeepSeek-V3.2). */
export function fp8RoundTrip(x: Float32Array, cols: number): Float32Array {
  const { values, scales } = actQuant(x, cols, 'ue8m0');
  const blocks = Math.ceil(cols / QUANT_BLOCK);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const r = Math.floor(i / cols);
    const b = Math.floor((i % cols) / QUANT_BLOCK);
    out[i] = Math.fround(values[i]! * scales[r * blocks + b]!);
  }
  return out;
}
