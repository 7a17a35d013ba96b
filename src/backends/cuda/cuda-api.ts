// The CUDA driver API (libcuda.so.1, installed by the NVIDIA driver) through koffi: the primary
// context of device 0, one stream, module loading and launches. Handles and device pointers travel
// as numbers (they fit in 53 bits).
import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';
import { GpuError, GpuUnavailableError } from './gpu-api.js';
import type { GpuApi } from './gpu-api.js';

type Fn = (...args: unknown[]) => number;

const ATTR_MAX_GRID_X = 5;
const ATTR_MAX_GRID_Y = 6;
const ATTR_CC_MAJOR = 75;
const ATTR_CC_MINOR = 76;

export function loadLibrary(names: readonly string[]): LibraryHandle | null {
  for (const n of names) {
    try {
      return koffi.load(n);
    } catch {
      // try the next name
    }
  }
  return null;
}

/** The driver calls used, as koffi prototypes (tested to parse without a driver). */
export const CUDA_DECLS: Readonly<Record<string, string>> = {
  cuInit: 'int cuInit(unsigned int)',
  cuDriverGetVersion: 'int cuDriverGetVersion(_Out_ int*)',
  cuDeviceGetCount: 'int cuDeviceGetCount(_Out_ int*)',
  cuDeviceGet: 'int cuDeviceGet(_Out_ int*, int)',
  cuDeviceGetName: 'int cuDeviceGetName(_Out_ uint8_t*, int, int)',
  cuDeviceGetAttribute: 'int cuDeviceGetAttribute(_Out_ int*, int, int)',
  cuDevicePrimaryCtxRetain: 'int cuDevicePrimaryCtxRetain(_Out_ uintptr_t*, int)',
  cuDevicePrimaryCtxRelease: 'int cuDevicePrimaryCtxRelease_v2(int)',
  cuCtxSetCurrent: 'int cuCtxSetCurrent(uintptr_t)',
  cuStreamCreate: 'int cuStreamCreate(_Out_ uintptr_t*, unsigned int)',
  cuStreamDestroy: 'int cuStreamDestroy_v2(uintptr_t)',
  cuStreamSynchronize: 'int cuStreamSynchronize(uintptr_t)',
  cuModuleLoadData: 'int cuModuleLoadData(_Out_ uintptr_t*, const uint8_t*)',
  cuModuleGetFunction: 'int cuModuleGetFunction(_Out_ uintptr_t*, uintptr_t, const char*)',
  cuLaunchKernel: 'int cuLaunchKernel(uintptr_t, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, unsigned int, uintptr_t, uintptr_t, uintptr_t)',
  cuMemAlloc: 'int cuMemAlloc_v2(_Out_ uintptr_t*, size_t)',
  cuMemFree: 'int cuMemFree_v2(uintptr_t)',
  cuMemcpyHtoDAsync: 'int cuMemcpyHtoDAsync_v2(uintptr_t, const void*, size_t, uintptr_t)',
  cuMemcpyDtoHAsync: 'int cuMemcpyDtoHAsync_v2(void*, uintptr_t, size_t, uintptr_t)',
};

export class CudaApi implements GpuApi {
  readonly name = 'cuda';
  readonly deviceName: string;
  readonly arch: string;
  readonly driverVersion: string;
  readonly maxGridX: number;
  readonly maxGridY: number;
  /** compute capability as a number (90 for sm_90) */
  readonly cc: number;
  private readonly f: Record<string, Fn> = {};
  private readonly errorName: (code: number, out: [string | null]) => number;
  private readonly ctx: number;
  private readonly stream: number;
  private readonly dev: number;

  constructor() {
    const lib = loadLibrary(['libcuda.so.1', 'libcuda.so']);
    if (!lib) throw new GpuUnavailableError('cuda: libcuda.so.1 not found (no NVIDIA driver)');
    for (const [k, sig] of Object.entries(CUDA_DECLS)) this.f[k] = lib.func(sig) as Fn;
    this.errorName = lib.func('int cuGetErrorName(int, _Out_ const char**)') as (code: number, out: [string | null]) => number;
    const init = this.f['cuInit']!(0);
    if (init !== 0) throw new GpuUnavailableError(`cuda: cuInit failed with ${this.err(init)} (${init === 100 ? 'no NVIDIA GPU visible' : 'driver not usable'})`);
    const n = [0];
    this.check('cuDeviceGetCount', n);
    if (n[0] === 0) throw new GpuUnavailableError('cuda: the NVIDIA driver sees no GPU');
    const d = [0];
    this.check('cuDeviceGet', d, 0);
    this.dev = d[0]!;
    const name = new Uint8Array(256);
    this.check('cuDeviceGetName', name, 256, this.dev);
    this.deviceName = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
    const attr = (a: number) => {
      const v = [0];
      this.check('cuDeviceGetAttribute', v, a, this.dev);
      return v[0]!;
    };
    this.cc = attr(ATTR_CC_MAJOR) * 10 + attr(ATTR_CC_MINOR);
    this.arch = `sm_${this.cc}`;
    this.maxGridX = attr(ATTR_MAX_GRID_X);
    this.maxGridY = attr(ATTR_MAX_GRID_Y);
    const v = [0];
    this.check('cuDriverGetVersion', v);
    this.driverVersion = `cuda driver ${v[0]}`;
    const ctx = [0];
    this.check('cuDevicePrimaryCtxRetain', ctx, this.dev);
    this.ctx = ctx[0]!;
    this.check('cuCtxSetCurrent', this.ctx);
    const s = [0];
    this.check('cuStreamCreate', s, 1); // CU_STREAM_NON_BLOCKING
    this.stream = s[0]!;
  }

  private err(code: number): string {
    const out: [string | null] = [null];
    return this.errorName(code, out) === 0 && out[0] ? out[0] : `error ${code}`;
  }

  private check(fn: string, ...args: unknown[]): void {
    const r = this.f[fn]!(...args);
    if (r !== 0) throw new GpuError(`cuda: ${fn} failed with ${this.err(r)}`);
  }

  malloc(bytes: number): number {
    const p = [0];
    this.check('cuMemAlloc', p, Math.max(bytes, 256));
    return p[0]!;
  }
  free(ptr: number): void {
    this.check('cuMemFree', ptr);
  }
  copyIn(dst: number, src: ArrayBufferView, bytes: number): void {
    if (bytes) this.check('cuMemcpyHtoDAsync', dst, src, bytes, this.stream);
  }
  copyOut(dst: Uint8Array, src: number, bytes: number): void {
    if (bytes) this.check('cuMemcpyDtoHAsync', dst, src, bytes, this.stream);
    this.synchronize();
  }
  loadModule(image: Uint8Array): number {
    const m = [0];
    const r = this.f['cuModuleLoadData']!(m, image);
    if (r === 222) throw new GpuError(`cuda: cuModuleLoadData: ${this.err(r)}: the PTX is newer than this driver (${this.driverVersion}); use an nvcc/NVRTC no newer than the driver, or set TESSERA_CUDA_BINARY=cubin`);
    if (r !== 0) throw new GpuError(`cuda: cuModuleLoadData failed with ${this.err(r)}`);
    return m[0]!;
  }
  getFunction(module: number, name: string): number {
    const f = [0];
    this.check('cuModuleGetFunction', f, module, name);
    return f[0]!;
  }
  launch(fn: number, gx: number, gy: number, block: number, kernelParams: number): void {
    this.check('cuLaunchKernel', fn, gx, gy, 1, block, 1, 1, 0, this.stream, kernelParams, 0);
  }
  synchronize(): void {
    this.check('cuStreamSynchronize', this.stream);
  }
  close(): void {
    this.f['cuStreamDestroy']!(this.stream);
    this.f['cuDevicePrimaryCtxRelease']!(this.dev);
  }
}
