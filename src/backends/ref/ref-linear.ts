// Reference matrix products: y = x · W^T on dequantized weights, or DeepSeek's FP8 product with
// block-quantized activations. Dot products accumulate in float64 (exact for e4m3 operands).
import { QUANT_BLOCK, actQuant } from '../../numerics/fp8.js';
import type { RefWeight } from './ref-tensor.js';

const fr = Math.fround;

/** x [T, in] · W^T -> [T, out], W dequantized to float32 (the 'bf16' / 'fp8-weight-only' semantics). */
export function linearPlain(x: Float32Array, rows: number, w: RefWeight): Float32Array {
  const [out, cols] = w.shape as [number, number];
  if (x.length !== rows * cols) throw new Error(`linear ${w.name}: input has ${x.length / rows} columns, weight ${cols}`);
  const y = new Float32Array(rows * out);
  const wRow = new Float32Array(cols);
  for (let n = 0; n < out; n++) {
    w.decodeRow(n, wRow);
    for (let t = 0; t < rows; t++) {
      let acc = 0;
      const base = t * cols;
      for (let k = 0; k < cols; k++) acc += x[base + k]! * wRow[k]!;
      y[t * out + n] = acc;
    }
  }
  return y;
}

/**
 * DeepSeek's fp8_gemm: x quantized per row and 128-block, then
 * y[t, n] = Σ_kb f32(a8[t,kb] · w8[n,kb]) * f32(sa[t,kb] * sw[n/128, kb]), summed in float32.
 */
export function linearFp8Act(x: Float32Array, rows: number, w: RefWeight, scaleFormat: 'ue8m0' | 'plain'): Float32Array {
  const [out, cols] = w.shape as [number, number];
  if (w.dtype !== 'F8_E4M3') throw new Error(`fp8 activation product needs an FP8 weight, ${w.name} is ${w.dtype}`);
  const { values: a8, scales: sa } = actQuant(x, cols, scaleFormat);
  return fp8BlockProduct(a8, sa, rows, cols, out, (n, row) => w.fp8Row(n, row), w.scales);
}

/**
 * The block-scaled product of quantized activations a8 [rows, cols] (scales sa [rows, blocks]) and
 * e4m3 weight rows (fetched by `wRow`, scales sw [ceil(out/128), blocks]) -> [rows, out].
 */
export function fp8BlockProduct(
  a8: Float32Array,
  sa: Float32Array,
  rows: number,
  cols: number,
  out: number,
  wRow8: (n: number, row: Float32Array) => void,
  sw: Float32Array,
): Float32Array {
  const blocks = Math.ceil(cols / QUANT_BLOCK);
  const y = new Float32Array(rows * out);
  const wRow = new Float32Array(cols);
  for (let n = 0; n < out; n++) {
    wRow8(n, wRow);
    const swRow = Math.floor(n / QUANT_BLOCK) * blocks;
    for (let t = 0; t < rows; t++) {
      let acc = 0;
      for (let kb = 0; kb < blocks; kb++) {
        let dot = 0;
        const end = Math.min(cols, (kb + 1) * QUANT_BLOCK);
        // Sequential float32 sums, as the reference kernel's emulation does (e4m3 products are exact).
        for (let k = kb * QUANT_BLOCK; k < end; k++) dot = fr(dot + a8[t * cols + k]! * wRow[k]!);
        acc = fr(acc + fr(dot * fr(sa[t * blocks + kb]! * sw[swRow + kb]!)));
      }
      y[t * out + n] = acc;
    }
  }
  return y;
}
