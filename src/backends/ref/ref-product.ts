// The reference linear product in each LinearMode.
import type { LinearMode } from '../../ops/tensors.js';
import type { RefWeight } from './ref-tensor.js';
import { linearFp8Act, linearPlain } from './ref-linear.js';
import { linearGgml } from './ref-ggml.js';

/** x [T, in] · W^T -> [T, out]; 'fp8-act' applies to FP8 weights only (others compute 'plain'). */
export function refProduct(x: Float32Array, rows: number, w: RefWeight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain'): Float32Array {
  if (mode === 'ggml') return linearGgml(x, rows, w);
  if (mode === 'fp8-act' && w.dtype === 'F8_E4M3') return linearFp8Act(x, rows, w, scaleFormat);
  return linearPlain(x, rows, w);
}
