// What a product kernel reads as its input, by weight dtype and LinearMode: the float32 rows, or
// the rows quantized first by their own kernel (e4m3 per 128-block for 'fp8-act'; llama.cpp's
// vec_dot type for 'ggml': Q8_0 / Q8_1 / Q8_K quants with their block scales, or f16 / bf16
// rounding that the plain kernel then consumes).
import { isQuantDType } from '../../formats/dtype.js';
import { ACT_BLOCK, VEC_DOT_TYPE } from '../../formats/gguf-act-quant.js';
import type { LinearMode, WeightDType } from '../../ops/tensors.js';
import { actQuantName, ggmlActQuantKernel, roundActKernel } from '../../kernels/ggml-act.js';
import type { KernelArg } from './device.js';
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

/** The x (and x_scales, x_sums) arguments of a product with weights of `dtype` in `mode`. */
export function linearInput(ops: DeviceOps, x: KTensor, dtype: WeightDType, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain', weight: string): Record<string, KernelArg> {
  const m = kernelMode(dtype, mode, weight);
  if (m === 'fp8-act') {
    const q = ops.actQuant(x, scaleFormat);
    return { x: q.values.buf, x_scales: q.scales };
  }
  if (m === 'ggml' && isQuantDType(dtype)) {
    const act = VEC_DOT_TYPE[dtype];
    const blocks = (x.rows * x.cols) / ACT_BLOCK[act];
    if (x.cols % ACT_BLOCK[act] !== 0) throw new Error(`linear ${weight}: ${x.cols} input columns are not whole ${act} blocks`);
    const values = ops.tensor(x.rows, x.cols);
    const scales = ops.scratch(blocks * 4);
    const args: Record<string, KernelArg> = { x: x.buf, y: values.buf, scales, blocks };
    if (act === 'Q8_1') args['sums'] = ops.scratch(blocks * 4);
    ops.run(ops.kernel(actQuantName(act), () => ggmlActQuantKernel(act)), args);
    return act === 'Q8_1' ? { x: values.buf, x_scales: scales, x_sums: args['sums']! } : { x: values.buf, x_scales: scales };
  }
  if (mode === 'ggml' && (dtype === 'F16' || dtype === 'BF16')) {
    const rounded = ops.tensor(x.rows, x.cols);
    ops.run(ops.kernel(`ggml_act_${dtype}`, () => roundActKernel(dtype)), { x: x.buf, y: rounded.buf, n: x.rows * x.cols });
    return { x: rounded.buf };
  }
  return { x: x.buf };
}
