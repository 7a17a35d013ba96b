// What a product kernel reads as its input, by weight dtype and LinearMode: the float32 rows, or
// the rows quantized first by their own kernel (e4m3 per 128-block for 'fp8-act'; llama.cpp's
// vec_dot type for 'ggml': Q8_0 / Q8_1 / Q8_K quants with their block scales, or f16 / bf16
// rounding that the plain kernel then consumes).
import { isQuantDType } from '../../formats/dtype.js';
import { ACT_BLOCK, VEC_DOT_TYPE } from '../../formats/gguf-act-quant.js';
import type { LinearMode, WeightDType } from '../../ops/tensors.js';
import { actQuantName, ggmlActQuantKernel, roundActKernel } from '../../kernels/ggml-act.js';
import { actSums, int8ActKernel, int8ActName } from '../../kernels/int8-linear.js';
import type { Int8DotDType } from '../../kernels/int8-linear.js';
import type { ActQuantType } from '../../formats/gguf-act-quant.js';
import type { DeviceBuffer, KernelArg } from './device.js';
import type { KTensor } from './device-tensors.js';
import type { DeviceOps } from './device-ops.js';

/** The kernel variant's mode: 'fp8-act' only for FP8 weights, 'ggml' only for GGUF blocks. */
export function kernelMode(dtype: WeightDType, mode: LinearMode, weight: string): LinearMode {
  if (mode === 'ggml') {
    if (dtype === 'F8_E4M3') throw new Error(`linear ${weight}: 'ggml' mode has no FP8 semantics (FP8 weights take 'plain' or 'fp8-act')`);
    return isQuantDType(dtype) ? 'ggml' : 'plain';
  }
  return mode === 'fp8-act' && dtype === 'F8_E4M3' ? 'fp8-act' : 'plain';
}

/** x quantized to llama.cpp's activation type `act`: the quants as f32, a scale per block, Q8_1's sums. */
function ggmlQuantize(ops: DeviceOps, x: KTensor, act: ActQuantType, weight: string): { values: KTensor; scales: DeviceBuffer; sums: DeviceBuffer | null } {
  const blocks = (x.rows * x.cols) / ACT_BLOCK[act];
  if (x.cols % ACT_BLOCK[act] !== 0) throw new Error(`linear ${weight}: ${x.cols} input columns are not whole ${act} blocks`);
  const values = ops.tensor(x.rows, x.cols);
  const scales = ops.scratch(blocks * 4);
  const sums = act === 'Q8_1' ? ops.scratch(blocks * 4) : null;
  const args: Record<string, KernelArg> = { x: x.buf, y: values.buf, scales, blocks };
  if (sums) args['sums'] = sums;
  ops.run(ops.kernel(actQuantName(act), () => ggmlActQuantKernel(act)), args);
  return { values, scales, sums };
}

/**
 * The arguments of int8-linear.ts for weights of `dtype`: x quantized as llama.cpp does ('ggml'
 * mode) to int8, four per word, with the sums (Q8_K's of each 16, Q8_1's per block) where the
 * micro-kernel takes them.
 */
export function int8LinearInput(ops: DeviceOps, x: KTensor, dtype: Int8DotDType, weight: string): Record<string, KernelArg> {
  const act = VEC_DOT_TYPE[dtype];
  if (x.cols % ACT_BLOCK[act] !== 0) throw new Error(`linear ${weight}: ${x.cols} input columns are not whole ${act} blocks`);
  const n = x.rows * x.cols;
  const blocks = n / ACT_BLOCK[act];
  const args: Record<string, KernelArg> = { x: x.buf, words: ops.scratch(n), scales: ops.scratch(blocks * 4), blocks };
  const sums = actSums(dtype);
  if (sums) args['sums'] = ops.scratch((n / sums.per) * 4);
  ops.run(ops.kernel(int8ActName(dtype), () => int8ActKernel(dtype)), args);
  const out: Record<string, KernelArg> = { x: args['words']!, x_scales: args['scales']! };
  if (args['sums']) out['x_sums'] = args['sums'];
  return out;
}

/** The x (and x_scales, x_sums) arguments of a product with weights of `dtype` in `mode`. */
export function linearInput(ops: DeviceOps, x: KTensor, dtype: WeightDType, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain', weight: string): Record<string, KernelArg> {
  const m = kernelMode(dtype, mode, weight);
  if (m === 'fp8-act') {
    const q = ops.actQuant(x, scaleFormat);
    return { x: q.values.buf, x_scales: q.scales };
  }
  if (m === 'ggml' && isQuantDType(dtype)) {
    const q = ggmlQuantize(ops, x, VEC_DOT_TYPE[dtype], weight);
    return q.sums ? { x: q.values.buf, x_scales: q.scales, x_sums: q.sums } : { x: q.values.buf, x_scales: q.scales };
  }
  if (mode === 'ggml' && (dtype === 'F16' || dtype === 'BF16')) {
    const rounded = ops.tensor(x.rows, x.cols);
    ops.run(ops.kernel(`ggml_act_${dtype}`, () => roundActKernel(dtype)), { x: x.buf, y: rounded.buf, n: x.rows * x.cols });
    return { x: rounded.buf };
  }
  return { x: x.buf };
}
