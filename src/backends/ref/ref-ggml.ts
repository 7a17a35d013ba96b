// The reference of 'ggml' mode: llama.cpp's CPU matmul semantics, written plainly. Each input row
// is converted to the weight's vec_dot type (src/formats/gguf-act-quant.ts) and the converted
// values meet the dequantized weight in a float64 dot product. Q4_1 / Q5_1 weights meet Q8_1
// activations, whose dot product (ggml_vec_dot_q4_1_q8_1) takes the offset term m · s with the
// block's fp16 sum s rather than m · Σ(d·q); the reference does the same.
import { QUANT_BLOCKS, bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../formats/dtype.js';
import { ACT_BLOCK, VEC_DOT_TYPE, quantizeActivations } from '../../formats/gguf-act-quant.js';
import { blockMins } from '../../formats/gguf-dequant.js';
import type { RefWeight } from './ref-tensor.js';
import { linearPlain } from './ref-linear.js';

/** x [T, in] · W^T -> [T, out] with the input converted as llama.cpp's CPU backend converts it. */
export function linearGgml(x: Float32Array, rows: number, w: RefWeight): Float32Array {
  switch (w.dtype) {
    case 'F32':
      return linearPlain(x, rows, w);
    case 'F16':
      return linearPlain(x.map((v) => f16ToF32(f32ToF16(v))), rows, w);
    case 'BF16':
      return linearPlain(x.map((v) => bf16ToF32(f32ToBf16(v))), rows, w);
    case 'F8_E4M3':
      throw new Error(`linear ${w.name}: 'ggml' mode has no FP8 semantics (FP8 weights take 'plain' or 'fp8-act')`);
  }
  const dtype = w.dtype;
  const [out, cols] = w.shape as [number, number];
  if (x.length !== rows * cols) throw new Error(`linear ${w.name}: input has ${x.length / rows} columns, weight ${cols}`);
  const act = VEC_DOT_TYPE[dtype];
  const q = quantizeActivations(x, act);
  const B = ACT_BLOCK[act];
  // a = d · q, exact in float64
  const a = Float64Array.from(q.values, (v, i) => v * q.scales[Math.floor(i / B)]!);
  const blocks = cols / QUANT_BLOCKS[dtype].elements;
  const rowBytes = blocks * QUANT_BLOCKS[dtype].bytes;
  const y = new Float32Array(rows * out);
  const wRow = new Float32Array(cols);
  for (let n = 0; n < out; n++) {
    w.decodeRow(n, wRow);
    const mins = dtype === 'Q4_1' || dtype === 'Q5_1' ? blockMins(dtype, w.bytes, n * rowBytes, blocks) : null;
    for (let t = 0; t < rows; t++) {
      let acc = 0;
      const base = t * cols;
      for (let k = 0; k < cols; k++) acc += a[base + k]! * wRow[k]!;
      if (mins) {
        // Σ a·(d_w q_w + m) + m·(s - Σ a) = Σ a·d_w q_w + m·s, block by block
        for (let b = 0; b < blocks; b++) {
          let sum = 0;
          for (let k = b * B; k < (b + 1) * B; k++) sum += a[base + k]!;
          acc += mins[b]! * (q.sums![t * blocks + b]! - sum);
        }
      }
      y[t * out + n] = acc;
    }
  }
  return y;
}
