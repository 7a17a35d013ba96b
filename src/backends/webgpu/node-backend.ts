// `--device webgpu` in Node: the WebGPU backend on a device from Dawn.
import { WebGpuDevice } from './webgpu-device.js';
import { WebGpuError } from './gpu-context.js';
import { openNodeWebGpu } from './node-gpu.js';
import { WebGpuBackend } from './webgpu-backend.js';
import { PipelineCache } from './pipelines.js';
import type { WebGpuContext } from './gpu-context.js';

export class NoWebGpuError extends WebGpuError {
  constructor() {
    super('no WebGPU adapter found (Dawn from npm `webgpu` needs a Vulkan driver: a GPU driver, or Mesa lavapipe on the CPU: apt-get install mesa-vulkan-drivers)');
    this.name = 'NoWebGpuError';
  }
}

export async function createWebGpuBackend(): Promise<WebGpuBackend> {
  const ctx = await openNodeWebGpu();
  if (!ctx) throw new NoWebGpuError();
  const profile = Boolean(process.env['TESSERA_PROFILE']);
  const device = new WebGpuDevice(ctx, { profile });
  if (profile) process.once('exit', () => printProfile(device));
  return new WebGpuBackend(device);
}

export interface SharedWebGpu {
  readonly ctx: WebGpuContext;
  /** a backend on the shared device (pipelines compiled once; disposing it keeps the device) */
  backend(): WebGpuBackend;
  device(): WebGpuDevice;
  close(): void;
}

/** One WebGPU device for many backends (test suites, conformance runs), or null without an adapter. */
export async function openSharedWebGpu(): Promise<SharedWebGpu | null> {
  const ctx = await openNodeWebGpu();
  if (!ctx) return null;
  const pipelines = new PipelineCache(ctx);
  const profile = Boolean(process.env['TESSERA_PROFILE']);
  const device = () => new WebGpuDevice(ctx, { ownsContext: false, pipelines, profile });
  return { ctx, device, backend: () => new WebGpuBackend(device()), close: () => ctx.close() };
}

/** TESSERA_PROFILE=1: GPU time per kernel on stderr (every dispatch submitted alone, so slower). */
function printProfile(device: WebGpuDevice): void {
  const rows = device.profile();
  const total = rows.reduce((t, r) => t + r.ms, 0);
  process.stderr.write(`webgpu kernel time ${total.toFixed(1)} ms (${device.ctx.adapterName})\n`);
  for (const r of rows) process.stderr.write(`  ${r.ms.toFixed(1).padStart(9)} ms ${String(r.calls).padStart(7)} calls  ${r.kernel}\n`);
}
