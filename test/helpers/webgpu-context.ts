// Test support: one WebGPU device per test process, shared by every backend a test file creates
// (pipelines compile once), or a skip when this machine has no adapter. CI installs lavapipe and
// sets TESSERA_REQUIRE_WEBGPU=1, where a missing adapter is a failure instead.
import { after, test } from 'node:test';
import { WebGpuDevice } from '../../src/backends/webgpu/webgpu-device.js';
import { WebGpuBackend } from '../../src/backends/webgpu/webgpu-backend.js';
import { openSharedWebGpu } from '../../src/backends/webgpu/node-backend.js';
import type { GpuLimits, WebGpuContext } from '../../src/backends/webgpu/gpu-context.js';

/** The same GPU device seen with smaller limits (to exercise binding plans and splits). */
export function withLimits(ctx: WebGpuContext, overrides: Partial<GpuLimits>): WebGpuContext {
  return Object.create(ctx, { limits: { value: Object.freeze({ ...ctx.limits, ...overrides }) }, close: { value: () => undefined } }) as WebGpuContext;
}

export interface SharedWebGpu {
  readonly ctx: WebGpuContext;
  /** a backend on the shared device (disposing it keeps the device) */
  backend(): WebGpuBackend;
  device(): WebGpuDevice;
}

export async function sharedWebGpu(what: string): Promise<SharedWebGpu | null> {
  const shared = await openSharedWebGpu();
  if (!shared) {
    const required = Boolean(process.env['TESSERA_REQUIRE_WEBGPU']);
    test(`${what} on webgpu`, required ? {} : { skip: 'no WebGPU adapter (install Mesa lavapipe; CI sets TESSERA_REQUIRE_WEBGPU=1)' }, () => {
      throw new Error('WebGPU (Dawn on lavapipe) is required here but no adapter was found');
    });
    return null;
  }
  after(() => shared.close());
  const profile = Boolean(process.env['TESSERA_PROFILE']);
  const backend = () => {
    const d = shared.device();
    const b = new WebGpuBackend(d);
    if (profile) {
      // slow kernels of each test, on stderr
      const dispose = b.dispose.bind(b);
      b.dispose = () => {
        const rows = d.profile();
        process.stderr.write(`webgpu kernels: ${rows.slice(0, 5).map((r) => `${r.kernel} ${r.ms.toFixed(0)} ms/${r.calls}`).join(', ')}\n`);
        dispose();
      };
    }
    return b;
  };
  return { ctx: shared.ctx, device: shared.device, backend };
}
