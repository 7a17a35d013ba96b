// A WebGPU device in Node through Dawn (npm `webgpu`), or null where no adapter exists.
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestGpu {
  /** The GPU object (Dawn instance) must outlive the device: if it is collected, Dawn crashes. */
  readonly gpu: GPU;
  readonly device: GPUDevice;
  close(): void;
}

export async function openWebGpu(): Promise<TestGpu | null> {
  if (!process.env['XDG_RUNTIME_DIR']) {
    const dir = join(tmpdir(), `tessera-xdg-${process.getuid?.() ?? 0}`);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    process.env['XDG_RUNTIME_DIR'] = dir;
  }
  let mod: typeof import('webgpu');
  try {
    mod = await import('webgpu');
  } catch {
    return null;
  }
  Object.assign(globalThis, mod.globals);
  const gpu = mod.create([]);
  const adapter = await gpu.requestAdapter();
  if (!adapter) return null;
  const device = await adapter.requestDevice({ requiredLimits: { maxStorageBuffersPerShaderStage: adapter.limits.maxStorageBuffersPerShaderStage, maxComputeWorkgroupStorageSize: adapter.limits.maxComputeWorkgroupStorageSize } });
  return { gpu, device, close: () => device.destroy() };
}
