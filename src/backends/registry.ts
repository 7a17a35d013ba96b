// Choosing a backend is a flag: --device NAME.
import type { Backend } from '../ops/backend.js';
import { RefBackend } from './ref/ref-backend.js';
import { DeviceBackend } from './device/device-backend.js';
import { JsDevice } from './js/js-device.js';
import { NoCompilerError, createCpuBackend } from './cpu/cpu-backend.js';

export const DEVICES = ['cpu', 'js', 'ref', 'webgpu', 'cuda', 'hip'] as const;
export type DeviceName = (typeof DEVICES)[number];

export interface BackendOptions {
  readonly threads?: number;
  /** where to say that a fallback was taken (stderr by default) */
  readonly warn?: (message: string) => void;
}

export function isDeviceName(s: string): s is DeviceName {
  return (DEVICES as readonly string[]).includes(s);
}

export async function createBackend(device: DeviceName, options: BackendOptions = {}): Promise<Backend> {
  switch (device) {
    case 'ref':
      return new RefBackend();
    case 'js':
      return new DeviceBackend('js', new JsDevice());
    case 'cpu':
      try {
        return createCpuBackend(options.threads);
      } catch (e) {
        if (!(e instanceof NoCompilerError)) throw e;
        (options.warn ?? ((m) => process.stderr.write(`${m}\n`)))(`tessera: ${e.message}; falling back to --device js (slower)`);
        return new DeviceBackend('js', new JsDevice());
      }
    case 'webgpu': {
      // loaded on demand: Dawn is a native module only this device needs
      const { createWebGpuBackend } = await import('./webgpu/node-backend.js');
      return createWebGpuBackend();
    }
    case 'cuda':
    case 'hip':
      return gpuBackend(device);
  }
}

/** cuda / hip, loaded on demand (koffi bindings of a driver only they need); throws GpuUnavailableError. */
async function gpuBackend(device: 'cuda' | 'hip'): Promise<Backend> {
  if (device === 'cuda') return (await import('./cuda/cuda-backend.js')).createCudaBackend();
  return (await import('./hip/hip-backend.js')).createHipBackend();
}

/** Many backends of one device, sharing what the device allows (one WebGPU adapter and its pipelines). */
export interface BackendFactory {
  readonly device: DeviceName;
  make(): Backend;
  close(): void;
}

/** A factory for `device`, or why this machine cannot run it (no compiler, no adapter); never a fallback. */
export async function backendFactory(device: DeviceName, options: BackendOptions = {}): Promise<BackendFactory | { readonly unavailable: string }> {
  switch (device) {
    case 'ref':
      return { device, make: () => new RefBackend(), close: () => undefined };
    case 'js':
      return { device, make: () => new DeviceBackend('js', new JsDevice()), close: () => undefined };
    case 'cpu':
      try {
        createCpuBackend(options.threads).dispose();
      } catch (e) {
        if (e instanceof NoCompilerError) return { unavailable: e.message };
        throw e;
      }
      return { device, make: () => createCpuBackend(options.threads), close: () => undefined };
    case 'webgpu': {
      const { NoWebGpuError, openSharedWebGpu } = await import('./webgpu/node-backend.js');
      const shared = await openSharedWebGpu();
      if (!shared) return { unavailable: new NoWebGpuError().message };
      return { device, make: () => shared.backend(), close: () => shared.close() };
    }
    case 'cuda':
    case 'hip': {
      const { GpuUnavailableError } = await import('./cuda/gpu-api.js');
      const create = device === 'cuda' ? (await import('./cuda/cuda-backend.js')).createCudaBackend : (await import('./hip/hip-backend.js')).createHipBackend;
      try {
        create().dispose();
      } catch (e) {
        if (e instanceof GpuUnavailableError) return { unavailable: e.message };
        throw e;
      }
      return { device, make: () => create(), close: () => undefined };
    }
  }
}
