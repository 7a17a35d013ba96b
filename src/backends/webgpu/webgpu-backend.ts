// `--device webgpu`: the device backend on a WebGPU device, plus what only WebGPU needs: weights
// larger than the adapter's maxStorageBufferBindingSize (an LM head or embedding table of a large
// vocabulary) are bound as row blocks, one launch per block (whole rows: GGUF blocks never split).
import type { Step } from '../../ops/step.js';
import type { LinearMode, Tensor, Weight } from '../../ops/tensors.js';
import type { KernelArg } from '../device/device.js';
import { DeviceBackend } from '../device/device-backend.js';
import { asK, asKW } from '../device/device-tensors.js';
import type { DeviceStep } from '../device/device-step.js';
import type { KTensor, KWeight } from '../device/device-tensors.js';
import { LANE_ROWS, linearLanesKernel, linearLanesName } from '../../kernels/linear-lanes.js';
import type { LanesSpec } from '../../kernels/linear-lanes.js';
import { embedKernel } from '../../kernels/elementwise.js';
import { WebGpuDevice } from './webgpu-device.js';
import type { WgBuffer } from './webgpu-device.js';
import { WebGpuError } from './gpu-context.js';
import { tensorByteSize } from '../../formats/dtype.js';
import { kernelMode, linearInput } from '../device/linear-input.js';

export class WebGpuBackend extends DeviceBackend {
  constructor(readonly gpu: WebGpuDevice) {
    super('webgpu', gpu);
  }

  protected override laneExperts(): boolean {
    return true;
  }

  /** Row blocks of a [rows, cols] weight that each fit one binding (FP8: whole 128-row scale blocks). */
  private blocks(w: KWeight): { rows: number; data: WgBuffer[]; scales: WgBuffer[] | null } {
    const [, cols] = w.shape as [number, number];
    const rowBytes = tensorByteSize(w.dtype, cols);
    // FP8: whole 128-row scale blocks; else the fewest rows that start every block on a 4-byte boundary
    const quantum = w.dtype === 'F8_E4M3' ? 128 : rowBytes % 4 === 0 ? 1 : rowBytes % 2 === 0 ? 2 : 4;
    const rows = Math.floor(this.gpu.bindingLimit / rowBytes / quantum) * quantum;
    if (rows === 0) throw new WebGpuError(`weight ${w.name}: ${quantum} rows of ${rowBytes} bytes exceed this adapter's maxStorageBufferBindingSize (${this.gpu.bindingLimit})`);
    const scales = w.dtype === 'F8_E4M3' ? this.gpu.splitRows(w.scales, Math.ceil(cols / 128) * 4, rows / 128) : null;
    return { rows, data: this.gpu.splitRows(w.buf, rowBytes, rows), scales };
  }

  protected override product(x: Tensor, weight: Weight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain'): KTensor {
    const w = asKW(weight);
    const a = asK(x);
    const [n, k] = w.shape as [number, number];
    if (a.cols !== k) throw new Error(`linear ${w.name}: input has ${a.cols} columns, weight ${k}`);
    const split = w.buf.bytes > this.gpu.bindingLimit;
    const spec: LanesSpec = { dtype: w.dtype, mode: kernelMode(w.dtype, mode, w.name), tile: { rows: LANE_ROWS, tokens: a.rows >= 4 ? 4 : a.rows >= 2 ? 2 : 1 }, outBlock: split };
    const y = this.tensor(a.rows, n);
    const input: Record<string, KernelArg> = { ...linearInput(this.ops, a, w.dtype, mode, scaleFormat, w.name), y: y.buf, t: a.rows, k };
    const kernel = this.kernel(linearLanesName(spec), () => linearLanesKernel(spec));
    if (!split) {
      const args: Record<string, KernelArg> = { ...input, w: w.buf, n };
      if (w.dtype === 'F8_E4M3') args['w_scales'] = w.scales;
      this.run(kernel, args);
      return y;
    }
    const { rows, data, scales } = this.blocks(w);
    data.forEach((block, i) => {
      const args: Record<string, KernelArg> = { ...input, w: block, n: Math.min(rows, n - i * rows), y_cols: n, y_col0: i * rows };
      if (scales) args['w_scales'] = scales[i]!;
      this.run(kernel, args);
    });
    return y;
  }

  override embed(table: Weight, step: Step): Tensor {
    const w = asKW(table);
    if (w.buf.bytes <= this.gpu.bindingLimit) return super.embed(table, step);
    const s = step as DeviceStep;
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
