// `--device webgpu`: the kernel backend on a WebGPU device, plus what only WebGPU needs: weights
// larger than the adapter's maxStorageBufferBindingSize (an LM head or embedding table of a large
// vocabulary) are bound as row blocks, one launch per block.
import type { LinearMode, Step, Tensor, Weight } from '../backend.js';
import type { KernelArg } from '../kernel/device.js';
import { KernelBackend, asK, asKW } from '../kernel/kernel-backend.js';
import type { KernelStep } from '../kernel/kernel-step.js';
import type { KWeight } from '../kernel/kernel-types.js';
import { linearKernel, linearName } from '../../kernels/linear.js';
import type { LinearSpec } from '../../kernels/linear.js';
import { embedKernel } from '../../kernels/elementwise.js';
import { WebGpuDevice } from './webgpu-device.js';
import type { WgBuffer } from './webgpu-device.js';
import { WebGpuError } from './gpu-context.js';

const ELEM_BYTES = { F32: 4, BF16: 2, F16: 2, F8_E4M3: 1 } as const;

export class WebGpuBackend extends KernelBackend {
  constructor(readonly gpu: WebGpuDevice) {
    super('webgpu', gpu);
  }

  /** Row blocks of a [rows, cols] weight that each fit one binding (FP8: whole 128-row scale blocks). */
  private blocks(w: KWeight): { rows: number; data: WgBuffer[]; scales: WgBuffer[] | null } {
    const [, cols] = w.shape as [number, number];
    const rowBytes = cols * ELEM_BYTES[w.dtype];
    const quantum = w.dtype === 'F8_E4M3' ? 128 : 4;
    const rows = Math.floor(this.gpu.bindingLimit / rowBytes / quantum) * quantum;
    if (rows === 0) throw new WebGpuError(`weight ${w.name}: ${quantum} rows of ${rowBytes} bytes exceed this adapter's maxStorageBufferBindingSize (${this.gpu.bindingLimit})`);
    const scales = w.dtype === 'F8_E4M3' ? this.gpu.splitRows(w.scales, Math.ceil(cols / 128) * 4, rows / 128) : null;
    return { rows, data: this.gpu.splitRows(w.buf, rowBytes, rows), scales };
  }

  override linear(x: Tensor, weight: Weight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain' = 'ue8m0'): Tensor {
    const w = asKW(weight);
    if (w.buf.bytes <= this.gpu.bindingLimit) return super.linear(x, weight, mode, scaleFormat);
    const a = asK(x);
    const [n, k] = w.shape as [number, number];
    if (a.cols !== k) throw new Error(`linear ${w.name}: input has ${a.cols} columns, weight ${k}`);
    // the tile KernelBackend picks for this many input rows
    const spec: LinearSpec = { dtype: w.dtype, mode: w.dtype === 'F8_E4M3' ? mode : 'plain', tile: { rows: 4, tokens: a.rows >= 2 ? 2 : 1 }, outBlock: true };
    const y = this.tensor(a.rows, n);
    const input: Record<string, KernelArg> = { x: a.buf };
    if (spec.mode === 'fp8-act') {
      const q = this.actQuant(a, scaleFormat);
      Object.assign(input, { x: q.values.buf, x_scales: q.scales });
    }
    const { rows, data, scales } = this.blocks(w);
    const kernel = this.kernel(linearName(spec), () => linearKernel(spec));
    data.forEach((block, i) => {
      const args: Record<string, KernelArg> = { ...input, w: block, y: y.buf, t: a.rows, n: Math.min(rows, n - i * rows), k, y_cols: n, y_col0: i * rows };
      if (scales) args['w_scales'] = scales[i]!;
      this.run(kernel, args);
    });
    return y;
  }

  override embed(table: Weight, step: Step): Tensor {
    const w = asKW(table);
    if (w.buf.bytes <= this.gpu.bindingLimit) return super.embed(table, step);
    const s = step as KernelStep;
    const [, hidden] = w.shape as [number, number];
    const out = this.tensor(s.rows, hidden);
    const { rows, data, scales } = this.blocks(w);
    const kernel = this.kernel(`embed_${w.dtype}_rows`, () => embedKernel(w.dtype, true));
    data.forEach((block, i) => {
      const args: Record<string, KernelArg> = { ids: s.tokens, table: block, out: out.buf, rows: s.rows, cols: hidden, row0: i * rows, row_count: Math.min(rows, w.shape[0]! - i * rows) };
      if (scales) args['scales'] = scales[i]!;
      this.run(kernel, args);
    });
    return out;
  }
}
