// What a GPU device needs of a driver API. CUDA's driver API and HIP's module API mirror each
// other call for call; cuda-api.ts and ../hip/hip-api.ts bind them through koffi.

/** A driver call failed, or no driver / no GPU: one line naming what is missing. */
export class GpuUnavailableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuUnavailableError';
  }
}

export class GpuError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GpuError';
  }
}

export interface GpuApi {
  /** 'cuda' | 'hip' (prefix of every message) */
  readonly name: string;
  /** the device's name and architecture (sm_90, gfx942), for messages and the kernel cache key */
  readonly deviceName: string;
  readonly arch: string;
  /** a driver version string for the cache key */
  readonly driverVersion: string;
  readonly maxGridX: number;
  readonly maxGridY: number;
  malloc(bytes: number): number;
  free(ptr: number): void;
  /** host -> device on the stream (pageable source: staged before the call returns) */
  copyIn(dst: number, src: ArrayBufferView, bytes: number): void;
  /** device -> host on the stream, then waits */
  copyOut(dst: Uint8Array, src: number, bytes: number): void;
  loadModule(image: Uint8Array): number;
  getFunction(module: number, name: string): number;
  /** kernelParams: address of the void** table */
  launch(fn: number, gx: number, gy: number, block: number, kernelParams: number): void;
  synchronize(): void;
  close(): void;
}
