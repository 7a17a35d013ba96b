// How an output is compared with the reference, and the tolerance of each kind of op.

export interface Comparison {
  /** the measured deviation (see each comparison) */
  readonly deviation: number;
  readonly tolerance: number;
  readonly pass: boolean;
  readonly detail?: string | undefined;
}

/**
 * Tolerances relative to max(1, max |reference|) of the output:
 * - elementwise: float32 rounding of one or two operations;
 * - norm: a float32 sum of squares, then one multiply per value;
 * - sum: float32 dot products whose order differs from the reference's float64 sums (K ≤ ~10^4);
 * - longSum: a K=4096 dot product accumulated with float32 FMAs over 8+ partial sums, as C and GPU
 *   backends do (measured 4.6e-7 on AVX-512); a float32 chain rounding every product and every
 *   running sum reaches 2.1e-6 there;
 * - fp8ActMoe: MoE with FP8 activations re-quantizes each expert's hidden activations to e4m3 (per
 *   128-block), and a value on a rounding boundary may land on its neighbour code (one e4m3 step,
 *   1/8 relative): up to 3.6e-3 seen on identical inputs.
 * - 'ggml' linear (llama.cpp's activation conversion) takes `sum`: backend and reference convert
 *   identical inputs to identical 8-bit quants (bit for bit on C, JS and lavapipe), so only the
 *   order of the float32 sums differs;
 * - ggmlMoe: in 'ggml' mode each expert's hidden activations are converted again (Q8 per block
 *   of 32 / 256, or f16 / bf16), computed in float32 by the backend and float64 by the reference;
 *   a value on a rounding boundary moves by one step (amax/127 of its block): up to 7.6e-4 seen
 *   (webgpu, Q4_1), the same allowance as fp8ActMoe.
 */
export const OP_TOLERANCE = {
  elementwise: 1e-6,
  norm: 2e-6,
  sum: 2e-5,
  longSum: 1e-6,
  fp8ActMoe: 1e-2,
  ggmlMoe: 1e-2,
} as const;

function scaleOf(want: ArrayLike<number>): number {
  let m = 1;
  for (let i = 0; i < want.length; i++) m = Math.max(m, Math.abs(want[i]!));
  return m;
}

function lengthMismatch(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number): Comparison | null {
  return got.length === want.length ? null : { deviation: Infinity, tolerance, pass: false, detail: `${got.length} values, reference has ${want.length}` };
}

/** max |got - want| / max(1, max |want|) ≤ tolerance (NaN never passes). */
export function compareClose(got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number): Comparison {
  const bad = lengthMismatch(got, want, tolerance);
  if (bad) return bad;
  let m = 0;
  let at = -1;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i]! - want[i]!);
    if (!(d <= m)) {
      m = Number.isNaN(d) ? Infinity : d;
      at = i;
    }
  }
  const deviation = m / scaleOf(want);
  const pass = deviation <= tolerance;
  return { deviation, tolerance, pass, detail: pass ? undefined : `at ${at}: ${got[at]} vs ${want[at]}` };
}

/** Bit-for-bit equal values (max |got - want| = 0). */
export function compareExact(got: ArrayLike<number>, want: ArrayLike<number>): Comparison {
  const bad = lengthMismatch(got, want, 0);
  if (bad) return bad;
  for (let i = 0; i < got.length; i++) {
    if (!Object.is(got[i], want[i]) && got[i] !== want[i]) {
      const d = Math.abs(got[i]! - want[i]!);
      return { deviation: Number.isNaN(d) ? Infinity : d, tolerance: 0, pass: false, detail: `at ${i}: ${got[i]} vs ${want[i]}` };
    }
  }
  return { deviation: 0, tolerance: 0, pass: true };
}

/**
 * e4m3 values with a scale per 128 (the indexer's q and k after the Hadamard rotation): float32
 * butterflies vs the reference's float64 ones may round a value on a boundary to its neighbour, so
 * at most 1% of the values may differ, each by at most one e4m3 step (1/8 relative, or 2^-9 of the
 * scale near zero). The deviation is the fraction of values that differ.
 */
export function compareQuant(got: { values: Float32Array; scales: Float32Array }, want: { values: Float32Array; scales: Float32Array }): Comparison {
  const tolerance = 0.01;
  const bad = lengthMismatch(got.values, want.values, tolerance);
  if (bad) return bad;
  const deq = (q: { values: Float32Array; scales: Float32Array }, i: number) => q.values[i]! * q.scales[Math.floor(i / 128)]!;
  let flips = 0;
  for (let i = 0; i < got.values.length; i++) {
    const a = deq(got, i);
    const b = deq(want, i);
    if (a === b) continue;
    const scale = want.scales[Math.floor(i / 128)]!;
    if (!(Math.abs(a - b) <= Math.max(Math.abs(b) / 8, scale * 2 ** -9))) {
      return { deviation: Infinity, tolerance, pass: false, detail: `value ${i}: ${a} vs ${b} is more than one e4m3 step` };
    }
    flips++;
  }
  const deviation = flips / Math.max(1, got.values.length);
  return { deviation, tolerance, pass: deviation <= tolerance, detail: flips ? `${flips} of ${got.values.length} values on a rounding boundary` : undefined };
}
