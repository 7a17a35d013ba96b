// Rotary position embedding tables, including YaRN as DeepSeek configures it.
// The tables are computed on the host in float32 exactly as DeepSeek's reference does
// (inv_freq, ramp blend, angle = f32(position * freq)), then cos/sin of each row's angle are
// uploaded per forward step, so every backend rotates with identical numbers.

export interface YarnParams {
  readonly factor: number;
  readonly originalMaxPositionEmbeddings: number;
  readonly betaFast: number;
  readonly betaSlow: number;
  readonly mscale: number;
  readonly mscaleAllDim: number;
}

export interface RopeParams {
  readonly theta: number;
  /** Rotary dimension (number of rotated values per head); frequencies are dim / 2. */
  readonly dim: number;
  readonly yarn: YarnParams | null;
}

const fr = Math.fround;

function correctionDim(rotations: number, dim: number, base: number, maxPos: number): number {
  return (dim * Math.log(maxPos / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

/** Frequencies per rotary pair [dim / 2], float32, YaRN-blended when configured. */
export function ropeFrequencies(p: RopeParams): Float32Array {
  const half = p.dim / 2;
  const freqs = new Float32Array(half);
  for (let i = 0; i < half; i++) {
    const exponent = fr(fr(2 * i) / p.dim);
    freqs[i] = fr(1 / fr(Math.pow(p.theta, exponent)));
  }
  const y = p.yarn;
  if (!y) return freqs;
  const low = Math.max(Math.floor(correctionDim(y.betaFast, p.dim, p.theta, y.originalMaxPositionEmbeddings)), 0);
  let high = Math.min(Math.ceil(correctionDim(y.betaSlow, p.dim, p.theta, y.originalMaxPositionEmbeddings)), p.dim - 1);
  if (low === high) high += 0.001;
  for (let i = 0; i < half; i++) {
    const ramp = Math.min(Math.max(fr(fr(i - low) / fr(high - low)), 0), 1);
    const smooth = fr(1 - ramp);
    const f = freqs[i]!;
    freqs[i] = fr(fr(fr(f / y.factor) * fr(1 - smooth)) + fr(f * smooth));
  }
  return freqs;
}

/** YaRN's attention-temperature factor 0.1 * m * ln(s) + 1 (1 when there is no scaling). */
export function yarnMscale(scale: number, mscale: number): number {
  return scale <= 1 ? 1 : 0.1 * mscale * Math.log(scale) + 1;
}

/** Softmax scale of MLA: qk_head_dim^-0.5, times mscale(factor, mscale_all_dim)^2 under YaRN. */
export function attentionScale(qkHeadDim: number, yarn: YarnParams | null): number {
  const base = qkHeadDim ** -0.5;
  if (!yarn || !yarn.mscaleAllDim) return base;
  const m = yarnMscale(yarn.factor, yarn.mscaleAllDim);
  return base * m * m;
}

/** Amplitude applied to cos/sin (HF semantics; 1 for DeepSeek-V3/V3.2, where mscale == mscale_all_dim). */
export function ropeAmplitude(yarn: YarnParams | null): number {
  if (!yarn) return 1;
  return yarnMscale(yarn.factor, yarn.mscale) / yarnMscale(yarn.factor, yarn.mscaleAllDim);
}

/** cos/sin for each position: [positions.length, dim/2] each, float32. */
export function ropeTable(
  positions: ArrayLike<number>,
  freqs: Float32Array,
  amplitude = 1,
): { cos: Float32Array; sin: Float32Array } {
  const half = freqs.length;
  const cos = new Float32Array(positions.length * half);
  const sin = new Float32Array(positions.length * half);
  for (let t = 0; t < positions.length; t++) {
    const pos = fr(positions[t]!);
    for (let i = 0; i < half; i++) {
      const angle = fr(pos * freqs[i]!);
      cos[t * half + i] = Math.cos(angle) * amplitude;
      sin[t * half + i] = Math.sin(angle) * amplitude;
    }
  }
  return { cos, sin };
}
