/// <reference types="@webgpu/types" />
// One WebGPU adapter and device, from Dawn in Node (node-gpu.ts) or navigator.gpu in a browser
// (src/browser/browser-gpu.ts): the only part of the backend that differs between the two.
// The `GPU` object is kept here on purpose: Dawn crashes if its instance is garbage-collected
// while a device it created is still in use.

/** WebGPU constants, spelled out so this code needs no globals from either runtime. */
export const BUFFER_USAGE = { MAP_READ: 0x1, COPY_SRC: 0x4, COPY_DST: 0x8, UNIFORM: 0x40, STORAGE: 0x80 } as const;
export const MAP_MODE_READ = 0x1;
export const SHADER_STAGE_COMPUTE = 0x4;

/** The limits the backend relies on, as granted to the device. */
export interface GpuLimits {
  readonly maxStorageBuffersPerShaderStage: number;
  readonly maxStorageBufferBindingSize: number;
  readonly maxBufferSize: number;
  readonly maxComputeWorkgroupStorageSize: number;
  readonly maxComputeInvocationsPerWorkgroup: number;
  readonly maxComputeWorkgroupsPerDimension: number;
  readonly minUniformBufferOffsetAlignment: number;
  readonly minStorageBufferOffsetAlignment: number;
}

export interface WebGpuContext {
  readonly gpu: GPU;
  readonly adapter: GPUAdapter;
  readonly device: GPUDevice;
  readonly limits: GpuLimits;
  /** "vendor architecture description" of the adapter, for messages and bench output */
  readonly adapterName: string;
  /** set when the device was lost (the reason); every later operation fails with it */
  readonly lostReason: string | null;
  close(): void;
}

export class WebGpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebGpuError';
  }
}

const REQUESTED: ReadonlyArray<keyof GpuLimits> = [
  'maxStorageBuffersPerShaderStage',
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
];

/** Requests an adapter and a device with the adapter's best limits; null when there is no adapter. */
export async function openWebGpuContext(gpu: GPU, options: GPURequestAdapterOptions = {}): Promise<WebGpuContext | null> {
  const adapter = await gpu.requestAdapter(options);
  if (!adapter) return null;
  const requiredLimits: Record<string, number> = {};
  for (const k of REQUESTED) requiredLimits[k] = adapter.limits[k];
  const device = await adapter.requestDevice({ requiredLimits });
  const l = device.limits;
  const limits: GpuLimits = Object.freeze({
    maxStorageBuffersPerShaderStage: l.maxStorageBuffersPerShaderStage,
    maxStorageBufferBindingSize: l.maxStorageBufferBindingSize,
    maxBufferSize: l.maxBufferSize,
    maxComputeWorkgroupStorageSize: l.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: l.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupsPerDimension: l.maxComputeWorkgroupsPerDimension,
    minUniformBufferOffsetAlignment: l.minUniformBufferOffsetAlignment,
    minStorageBufferOffsetAlignment: l.minStorageBufferOffsetAlignment,
  });
  const info = adapter.info;
  const adapterName = [info.vendor, info.architecture, info.description].filter((s) => s).join(' ') || 'unknown adapter';
  let lostReason: string | null = null;
  let closed = false;
  void device.lost.then((e) => {
    if (!closed) lostReason = `${e.reason}: ${e.message}`;
  });
  return {
    gpu,
    adapter,
    device,
    limits,
    adapterName,
    get lostReason() {
      return lostReason;
    },
    close() {
      if (closed) return;
      closed = true;
      device.destroy();
    },
  };
}
