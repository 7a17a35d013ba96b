// The pieces of a device backend that op implementations share (device-backend.ts owns them).
import type { Kernel } from '../../dsl/ir.js';
import type { DeviceBuffer, KernelArg } from './device.js';
import type { KTensor } from './device-tensors.js';
import type { LinearMode, WeightDType } from '../../ops/tensors.js';
import type { Int8DotDType } from '../../kernels/int8-linear.js';

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
  /** whether a product of `dtype` weights in kernel mode `mode` runs on the C integer dot micro-kernels (int8-linear.ts) */
  int8Dots(dtype: WeightDType, mode: LinearMode): dtype is Int8DotDType;
  /** x quantized and packed for those, once per tensor and activation type within a step */
  int8Input(x: KTensor, dtype: Int8DotDType, weight: string): Record<string, KernelArg>;
  /** the register tile for `tokens` input rows of a `dtype` product over `k` columns reading `matrices` weights at once */
  /** the register tile of a product with `tokens` input rows */
  tile(tokens: number, dtype: WeightDType): { rows: number; tokens: number };
  /** x quantized per row and 128-block: e4m3 values (f32) and scales */
  actQuant(x: KTensor, format: 'ue8m0' | 'plain'): { values: KTensor; scales: DeviceBuffer };
}

/**
 * A register tile for a product with `tokens` input rows and `k` columns. With 32 vector registers
 * of 16 lanes (AVX-512) and float weights, prefill takes 7 rows x 3 tokens: 21 accumulators, 3
 * input vectors and the widened weights fit without spilling (8 x 3 spills three, and runs ~10%
 * slower). One token takes 4 rows
 * whatever the row length: 8 rows over long rows (down_proj, K = 8960) measured no faster alone
 * and 9 ms slower per Qwen2-1.5B decode step among the other products, streaming from DRAM
 * (AMD EPYC, AVX-512, 2 threads, 2026-12-04). 4 x 2 fits 16 registers of 8 lanes.
 */
export function tileFor(tokens: number, wide = false): { rows: number; tokens: number } {
  if (wide && tokens >= 3) return { rows: 7, tokens: 3 };
  return tokens >= 2 ? { rows: 4, tokens: 2 } : { rows: 4, tokens: 1 };
}

/** `args` with the entries of `more` added, in place (per launch much cheaper than an object spread). */
export function withArgs(args: Record<string, KernelArg>, more: Readonly<Record<string, KernelArg>>): Record<string, KernelArg> {
  for (const key in more) args[key] = more[key]!;
  return args;
}
