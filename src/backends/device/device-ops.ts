// The pieces of a device backend that op implementations share (device-backend.ts owns them).
import type { Kernel } from '../../dsl/ir.js';
import type { DeviceBuffer, KernelArg } from './device.js';
import type { KTensor } from './device-tensors.js';

export interface DeviceOps {
  /** an output tensor from this step's pool */
  tensor(rows: number, cols: number): KTensor;
  scratch(bytes: number): DeviceBuffer;
  /** the kernel built once per key */
  kernel(key: string, build: () => Kernel): Kernel;
  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void;
  /** the device's limit on a packed buffer list (Infinity: none) */
  maxListBytes(): number;
  /** whether expert products of GGUF block weights run one weight row per lane (GPUs; moe.ts) */
  laneExperts(): boolean;
  /** x quantized per row and 128-block: e4m3 values (f32) and scales */
  actQuant(x: KTensor, format: 'ue8m0' | 'plain'): { values: KTensor; scales: DeviceBuffer };
}

/** A register tile for a product with `tokens` input rows. */
export function tileFor(tokens: number): { rows: number; tokens: number } {
  return tokens >= 2 ? { rows: 4, tokens: 2 } : { rows: 4, tokens: 1 };
}
