// Test support: every backend a whole-model test runs on — ref, js, cpu, and webgpu where this
// machine has an adapter (a skip, or a failure under TESSERA_REQUIRE_WEBGPU, otherwise).
import type { Backend } from '../../src/ops/backend.js';
import { RefBackend } from '../../src/backends/ref/ref-backend.js';
import { DeviceBackend } from '../../src/backends/device/device-backend.js';
import { JsDevice } from '../../src/backends/js/js-device.js';
import { createCpuBackend } from '../../src/backends/cpu/cpu-backend.js';
import { sharedWebGpu } from './webgpu-context.js';

export type NamedBackend = [string, () => Backend];

export async function everyBackend(what: string): Promise<NamedBackend[]> {
  const gpu = await sharedWebGpu(what);
  return [
    ['ref', () => new RefBackend()],
    ['js', () => new DeviceBackend('js', new JsDevice())],
    ['cpu', () => createCpuBackend()],
    ...(gpu ? [['webgpu', () => gpu.backend()] as NamedBackend] : []),
  ];
}
