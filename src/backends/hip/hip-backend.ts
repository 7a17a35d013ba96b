// `--device hip`: the device backend on an AMD GPU or Hygon DCU through the HIP runtime. Kernels
// use shared-memory reductions, so they run unchanged on 64-wide wavefronts (gfx906 / gfx90a / gfx942).
import type { LibraryHandle } from 'koffi';
import { DeviceBackend } from '../device/device-backend.js';
import { HipRenderer } from '../../dsl/render-hip.js';
import { GpuUnavailableError } from '../cuda/gpu-api.js';
import { GpuDevice } from '../cuda/gpu-device.js';
import { rtcCompiler, toolCompiler } from '../cuda/kernel-compiler.js';
import type { KernelCompiler } from '../cuda/kernel-compiler.js';
import { HipApi } from './hip-api.js';

/** hiprtc builds hip_runtime.h in: the prelude's include of it is dropped. */
export function forHiprtc(source: string): string {
  return source.replace(/^#include <hip\/hip_runtime.h>\n/m, '');
}

/** hiprtc (in libamdhip64), else `hipcc --genco` for $TESSERA_HIP_ARCH; null: neither. */
export function hipCompiler(lib: LibraryHandle | null, arch: string): KernelCompiler | null {
  const archOpts = arch ? [`--offload-arch=${arch}`] : [];
  const rtc = process.env['TESSERA_HIP_COMPILER'] === 'hipcc' ? null : rtcCompiler(lib, 'hiprtc', `hiprtc ${arch}`, 'hsaco', [...archOpts, '-O3'], forHiprtc);
  if (rtc) return rtc;
  if (!arch) return null;
  return toolCompiler('hipcc', 'hsaco', ['--genco', ...archOpts, '-O3'], { HIP_PLATFORM: 'amd' });
}

export function createHipBackend(): DeviceBackend {
  const api = new HipApi();
  const compiler = hipCompiler(api.lib, api.arch);
  if (!compiler) {
    api.close();
    throw new GpuUnavailableError('hip: neither hiprtc nor hipcc usable (set TESSERA_HIP_ARCH=gfx90a or similar for hipcc)');
  }
  return new DeviceBackend('hip', new GpuDevice('hip', api, compiler, new HipRenderer()));
}
