// Deterministic random weights for the benchmark model. Each tensor's values depend only on the
// global seed and the tensor's Hugging Face name, so the safetensors and GGUF files can be written
// in different orders and layouts and still hold identical values.
//
// Values are N(0, 0.02) for weights, 1 + N(0, 0.02) for norm gains and N(0, 0.01) for biases
// (DeepSeek's router bias, Qwen2's q/k/v biases). To generate billions of values in seconds, a
// normal sample is a lookup into a 65536-entry table of normal quantiles (already rounded to BF16)
// indexed by 16 random bits.
import { f32ToBf16 } from '../src/formats/dtype.js';
import type { HfTensor, Init } from './model-config.js';

/** Acklam's rational approximation of the standard normal quantile (relative error < 1.2e-9). */
function normalQuantile(p: number): number {
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const lo = 0.02425;
  const poly = (k: number[], x: number): number => k.reduce((acc, v) => acc * x + v, 0);
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return poly(c, q) / (poly(d, q) * q + 1);
  }
  if (p > 1 - lo) {
    const q = Math.sqrt(-2 * Math.log(1 - p));
    return -poly(c, q) / (poly(d, q) * q + 1);
  }
  const q = p - 0.5;
  const r = q * q;
  return (poly(a, r) * q) / (poly(b, r) * r + 1);
}

const tables = new Map<string, { bf16: Uint16Array; f32: Float32Array }>();

/** BF16 bits and float32 values of mean + std * z for the 65536 quantiles z of N(0, 1). */
function table(mean: number, std: number): { bf16: Uint16Array; f32: Float32Array } {
  const key = `${mean}/${std}`;
  let t = tables.get(key);
  if (!t) {
    const bf16 = new Uint16Array(65536);
    const f32 = new Float32Array(65536);
    for (let i = 0; i < 65536; i++) {
      const v = mean + std * normalQuantile((i + 0.5) / 65536);
      bf16[i] = f32ToBf16(v);
      f32[i] = v;
    }
    t = { bf16, f32 };
    tables.set(key, t);
  }
  return t;
}

const INIT: Readonly<Record<Init, readonly [number, number]>> = {
  weight: [0, 0.02],
  norm: [1, 0.02],
  bias: [0, 0.01],
};

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Raw little-endian bytes of a tensor in its checkpoint dtype (BF16 or F32). */
export function tensorBytes(t: HfTensor, seed: number): Uint8Array {
  const n = t.shape.reduce((a, b) => a * b, 1);
  const [mean, std] = INIT[t.init];
  const tab = table(mean, std);
  // xorshift32 seeded per tensor; each 32-bit draw gives two 16-bit table indices.
  let x = (fnv1a(t.name) ^ Math.imul(seed, 0x9e3779b1)) >>> 0 || 1;
  if (t.dtype === 'BF16') {
    const out = new Uint16Array(n);
    const src = tab.bf16;
    for (let i = 0; i < n; i += 2) {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      out[i] = src[x & 0xffff]!;
      if (i + 1 < n) out[i + 1] = src[x >>> 16]!;
    }
    return new Uint8Array(out.buffer);
  }
  const out = new Float32Array(n);
  const src = tab.f32;
  for (let i = 0; i < n; i += 2) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out[i] = src[x & 0xffff]!;
    if (i + 1 < n) out[i + 1] = src[x >>> 16]!;
  }
  return new Uint8Array(out.buffer);
}
