// The activation side of llama.cpp's CPU matmul: before a row of activations is multiplied with a
// quantized weight, ggml converts it to the weight type's vec_dot_type (type_traits_cpu in
// ggml-cpu.c) and the dot products run on those values. This module is that conversion, value for
// value as the x86 build computes it:
//   Q8_0 (Q4_0, Q5_0, Q8_0 weights), quantize_row_q8_0 (AVX): per 32, amax = max|x|,
//        d = fp16(amax / 127), q = round-half-even(x · (127 / amax)) in float32;
//   Q8_1 (Q4_1, Q5_1), quantize_row_q8_1: the same, plus s = fp16(amax/127 · Σq) (with the unrounded
//        d), which the dot product uses for the weight's offset m instead of d·Σq;
//   Q8_K (the K types), quantize_row_q8_K_ref: per 256, max = the value of largest |x| (the first on
//        ties), iscale = -127 / max, q = min(127, round-half-even(iscale · x)), d = 1 / iscale (f32).
// (The AVX2 repacked path, ggml_quantize_mat_q8_K_4x8, picks max's sign differently only when +amax
// and -amax both occur in a block.)
import { f16ToF32, f32ToF16 } from './half.js';
import type { QuantDType } from './dtype.js';

export type ActQuantType = 'Q8_0' | 'Q8_1' | 'Q8_K';

export const VEC_DOT_TYPE: Readonly<Record<QuantDType, ActQuantType>> = {
  Q8_0: 'Q8_0',
  Q4_0: 'Q8_0',
  Q5_0: 'Q8_0',
  Q4_1: 'Q8_1',
  Q5_1: 'Q8_1',
  Q2_K: 'Q8_K',
  Q3_K: 'Q8_K',
  Q4_K: 'Q8_K',
  Q5_K: 'Q8_K',
  Q6_K: 'Q8_K',
};

export const ACT_BLOCK: Readonly<Record<ActQuantType, number>> = { Q8_0: 32, Q8_1: 32, Q8_K: 256 };

export interface QuantizedActivations {
  /** the integer quants q (-127..127) as floats, [n] */
  readonly values: Float32Array;
  /** the scale d of each block as the dot product uses it (Q8_0/Q8_1: the fp16 value), [n / block] */
  readonly scales: Float32Array;
  /** Q8_1: the fp16 block sums s; null otherwise */
  readonly sums: Float32Array | null;
}

const fr = Math.fround;
const toHalf = (v: number): number => f16ToF32(f32ToF16(v));

/** Round half to even (the default rounding of _mm256_round_ps and of ggml's nearest_int). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && (r & 1) !== 0 ? r - 1 : r;
}

/** Quantizes x (blocks never straddle rows: row lengths are multiples of the block) to `type`. */
export function quantizeActivations(x: Float32Array, type: ActQuantType): QuantizedActivations {
  const block = ACT_BLOCK[type];
  if (x.length % block !== 0) throw new RangeError(`${type} activations need a multiple of ${block} values, got ${x.length}`);
  const blocks = x.length / block;
  const values = new Float32Array(x.length);
  const scales = new Float32Array(blocks);
  const sums = type === 'Q8_1' ? new Float32Array(blocks) : null;
  for (let b = 0; b < blocks; b++) {
    const o = b * block;
    if (type === 'Q8_K') {
      let amax = 0;
      let max = 0;
      for (let i = o; i < o + block; i++) {
        if (Math.abs(x[i]!) > amax) {
          amax = Math.abs(x[i]!);
          max = x[i]!;
        }
      }
      if (amax === 0) continue;
      const iscale = fr(-127 / max);
      for (let i = o; i < o + block; i++) values[i] = Math.min(127, roundHalfEven(fr(iscale * x[i]!)));
      scales[b] = fr(1 / iscale);
      continue;
    }
    let amax = 0;
    for (let i = o; i < o + block; i++) amax = Math.max(amax, Math.abs(x[i]!));
    const d = fr(amax / 127);
    const id = amax !== 0 ? fr(127 / amax) : 0;
    let sum = 0;
    for (let i = o; i < o + block; i++) {
      values[i] = roundHalfEven(fr(x[i]! * id));
      sum += values[i]!;
    }
    scales[b] = toHalf(d);
    if (sums) sums[b] = toHalf(fr(d * sum));
  }
  return { values, scales, sums };
}
