// The HIP runtime (libamdhip64, ROCm or Debian's libamdhip64-5) through koffi: the module API
// mirrors CUDA's driver API call for call (see ../cuda/cuda-api.ts).
import type { LibraryHandle } from 'koffi';
import { GpuError, GpuUnavailableError } from '../cuda/gpu-api.js';
import type { GpuApi } from '../cuda/gpu-api.js';
import { loadLibrary } from '../cuda/cuda-api.js';

type Fn = (...args: unknown[]) => number;

export const HIP_LIBRARIES = ['libamdhip64.so', 'libamdhip64.so.6', 'libamdhip64.so.5'];

export const HIP_DECLS: Readonly<Record<string, string>> = {
  hipInit: 'int hipInit(unsigned int)',
  hipDriverGetVersion: 'int hipDriverGetVersion(_Out_ int*)',
  hipGetDeviceCount: 'int hipGetDeviceCount(_Out_ int*)',
  hipSetDevice: 'int hipSetDevice(int)',
  hipDeviceGetName: 'int hipDeviceGetName(_Out_ uint8_t*, int, int)',
  hipStreamCreateWithFlags: 'int hipStreamCreateWithFlags(_Out_ uintptr_t*, unsigned int)',
  hipStreamDestroy: 'int hipStreamDestroy(uintptr_t)',
  hipStreamSynchronize: 'int hipStreamSynchronize(uintptr_t)',
  hipModuleLoadData: 'int hipModuleLoadData(_Out_ uintptr_t*, const uint8_t*)',
  hipModuleGetFunction: 'int hipModuleGetFunction(_Out_ uintptr_t*, uintptr_t, const char*)',
  hipModuleLaunchKernel: 'int hipModuleLaunchKernel(uintptr_t, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, uintptr_t, uintptr_t, uintptr_t)',
  hipMalloc: 'int hipMalloc(_Out_ uintptr_t*, size_t)',
  hipFree: 'int hipFree(uintptr_t)',
  hipMemcpyHtoDAsync: 'int hipMemcpyHtoDAsync(uintptr_t, const void*, size_t, uintptr_t)',
  hipMemcpyDtoHAsync: 'int hipMemcpyDtoHAsync(void*, uintptr_t, size_t, uintptr_t)',
};

export class HipApi implements GpuApi {
  readonly name = 'hip';
  readonly deviceName: string;
  /** gfx target ($TESSERA_HIP_ARCH; empty: hiprtc compiles for the current device) */
  readonly arch: string;
  readonly driverVersion: string;
  readonly maxGridX = 2 ** 31 - 1;
  readonly maxGridY = 65535;
  readonly lib: LibraryHandle;
  private readonly f: Record<string, Fn> = {};
  private readonly errorName: (code: number) => string;
  private readonly stream: number;

  constructor() {
    const lib = loadLibrary(HIP_LIBRARIES);
    if (!lib) throw new GpuUnavailableError('hip: libamdhip64.so not found (no ROCm / HIP runtime)');
    this.lib = lib;
    for (const [k, sig] of Object.entries(HIP_DECLS)) this.f[k] = lib.func(sig) as Fn;
    this.errorName = lib.func('const char* hipGetErrorName(int)') as (code: number) => string;
    const init = this.f['hipInit']!(0);
    if (init !== 0) throw new GpuUnavailableError(`hip: hipInit failed with ${this.errorName(init)} (no AMD GPU / DCU visible: check /dev/kfd and /dev/dri)`);
    const n = [0];
    this.check('hipGetDeviceCount', n);
    if (n[0] === 0) throw new GpuUnavailableError('hip: the HIP runtime sees no GPU');
    this.check('hipSetDevice', 0);
    const name = new Uint8Array(256);
    this.check('hipDeviceGetName', name, 256, 0);
    this.deviceName = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
    this.arch = process.env['TESSERA_HIP_ARCH'] ?? '';
    const v = [0];
    this.check('hipDriverGetVersion', v);
    this.driverVersion = `hip driver ${v[0]}`;
    const s = [0];
    this.check('hipStreamCreateWithFlags', s, 1); // hipStreamNonBlocking
    this.stream = s[0]!;
  }

  private check(fn: string, ...args: unknown[]): void {
    const r = this.f[fn]!(...args);
    if (r !== 0) throw new GpuError(`hip: ${fn} failed with ${this.errorName(r)}`);
  }

  malloc(bytes: number): number {
    const p = [0];
    this.check('hipMalloc', p, Math.max(bytes, 256));
    return p[0]!;
  }
  free(ptr: number): void {
    this.check('hipFree', ptr);
  }
  copyIn(dst: number, src: ArrayBufferView, bytes: number): void {
    if (bytes) this.check('hipMemcpyHtoDAsync', dst, src, bytes, this.stream);
  }
  copyOut(dst: Uint8Array, src: number, bytes: number): void {
    if (bytes) this.check('hipMemcpyDtoHAsync', dst, src, bytes, this.stream);
    this.synchronize();
  }
  loadModule(image: Uint8Array): number {
    const m = [0];
    this.check('hipModuleLoadData', m, image);
    return m[0]!;
  }
  getFunction(module: number, name: string): number {
    const f = [0];
    this.check('hipModuleGetFunction', f, module, name);
    return f[0]!;
  }
  launch(fn: number, gx: number, gy: number, block: number, kernelParams: number): void {
    this.check('hipModuleLaunchKernel', fn, gx, gy, 1, block, 1, 1, 0, this.stream, kernelParams, 0);
  }
  synchronize(): void {
    this.check('hipStreamSynchronize', this.stream);
  }
  close(): void {
    this.f['hipStreamDestroy']!(this.stream);
  }
}
