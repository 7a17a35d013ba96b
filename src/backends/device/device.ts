// What the device backend needs from a device: memory, weights, and launching DSL kernels.
// cpu (C + koffi), js (typed arrays) and webgpu implement this; device-backend.ts builds every op on it.
import type { Kernel, Target } from '../../dsl/ir.js';
import type { TensorInfo } from '../../formats/safetensors.js';
import type { TensorStore } from '../../formats/tensor-store.js';

export interface DeviceBuffer {
  readonly bytes: number;
}

export type KernelArg = DeviceBuffer | number | readonly DeviceBuffer[];

export interface Device {
  readonly name: string;
  /** the language its kernels are rendered to (which custom spellings and helpers it runs) */
  readonly language: Target;
  /**
   * The most bytes one buffer-list argument may take with its items back to back (each rounded up
   * to 4 bytes), where the device binds a list as one buffer (WebGPU); absent: no limit.
   */
  readonly maxListBytes?: number;
  /** f32 lanes per vector register where the device renders for a CPU's SIMD width (cpu) */
  readonly vectorLanes?: number;
  /** A buffer of at least `bytes` bytes; contents undefined. */
  alloc(bytes: number): DeviceBuffer;
  release(buf: DeviceBuffer): void;
  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset?: number): void;
  /** A copy of the first `bytes` bytes (all by default). */
  download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer>;
  /** A tensor's bytes as stored in the file (memory-mapped where the device can). */
  loadTensor(store: TensorStore, tensor: TensorInfo): DeviceBuffer;
  /** Run a kernel; args by parameter name (buffers, numbers for scalars, buffer lists). */
  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void;
  dispose(): void;
}
