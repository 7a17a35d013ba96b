// A Device over a GPU driver API (CUDA or HIP): kernels rendered to CUDA / HIP C, compiled by
// NVRTC / hiprtc (or nvcc / hipcc) and cached on disk, launched on one stream; weights uploaded in
// their file dtype on first use; device memory pooled by size class.
import type { Kernel, Param, Target } from '../../dsl/ir.js';
import type { TensorInfo } from '../../formats/safetensors.js';
import type { TensorStore } from '../../formats/tensor-store.js';
import type { Device, DeviceBuffer, KernelArg } from '../device/device.js';
import { programCount } from '../webgpu/program-count.js';
import { free, malloc, nativeView } from '../cpu/libc.js';
import type { GpuApi } from './gpu-api.js';
import { GpuError } from './gpu-api.js';
import { argLayout, gridFor, writeArgTable, writeArgs } from './launch.js';
import type { ArgLayout } from './launch.js';
import { cachedBinary } from './kernel-compiler.js';
import type { KernelCompiler } from './kernel-compiler.js';

export class GpuBuffer implements DeviceBuffer {
  constructor(
    readonly ptr: number,
    readonly bytes: number,
    /** pool size class (bytes actually allocated) */
    readonly capacity: number,
  ) {}
}

/** Pool size classes: powers of two up to 1 MiB, then whole MiB (weights are allocated exactly once). */
export function sizeClass(bytes: number): number {
  const b = Math.max(bytes, 256);
  if (b <= 1 << 20) return 2 ** Math.ceil(Math.log2(b));
  return Math.ceil(b / (1 << 20)) * (1 << 20);
}

interface Launchable {
  readonly fn: number;
  readonly layout: ArgLayout;
  /** native memory of the argument slots and pointer table */
  readonly addr: number;
  readonly view: DataView;
}

export interface Renderer {
  readonly target: Target;
  renderModule(kernels: readonly Kernel[]): string;
}

export class GpuDevice implements Device {
  private readonly fns = new Map<string, Launchable>();
  private readonly pool = new Map<number, number[]>();
  private readonly live = new Set<GpuBuffer>();
  private readonly tensors = new Map<string, GpuBuffer>();
  private readonly lists = new WeakMap<readonly DeviceBuffer[], GpuBuffer>();
  private disposed = false;

  constructor(
    readonly name: string,
    readonly api: GpuApi,
    private readonly compiler: KernelCompiler,
    private readonly renderer: Renderer,
  ) {}

  get language(): Target {
    return this.renderer.target;
  }

  alloc(bytes: number): GpuBuffer {
    const cap = sizeClass(bytes);
    const ptr = this.pool.get(cap)?.pop() ?? this.api.malloc(cap);
    const b = new GpuBuffer(ptr, bytes, cap);
    this.live.add(b);
    return b;
  }

  release(buf: DeviceBuffer): void {
    const b = buf as GpuBuffer;
    if (!this.live.delete(b)) return;
    const free = this.pool.get(b.capacity) ?? [];
    free.push(b.ptr);
    this.pool.set(b.capacity, free);
  }

  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset = 0): void {
    const b = buf as GpuBuffer;
    if (byteOffset + data.byteLength > b.bytes) throw new RangeError(`upload of ${data.byteLength} bytes at ${byteOffset} overflows a ${b.bytes}-byte buffer`);
    // koffi passes typed arrays' memory directly; any view becomes bytes
    this.api.copyIn(b.ptr + byteOffset, new Uint8Array(data.buffer, data.byteOffset, data.byteLength), data.byteLength);
  }

  async download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer> {
    const b = buf as GpuBuffer;
    const out = new Uint8Array(bytes ?? b.bytes);
    this.api.copyOut(out, b.ptr, out.byteLength);
    return out.buffer;
  }

  loadTensor(store: TensorStore, t: TensorInfo): DeviceBuffer {
    const key = `${t.file}:${t.offset}:${t.name}`;
    let b = this.tensors.get(key);
    if (!b) {
      b = this.alloc(t.byteLength);
      this.upload(b, store.read(t.name));
      this.tensors.set(key, b);
    }
    return b;
  }

  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void {
    if (this.disposed) throw new GpuError(`${this.name}: device used after dispose`);
    const l = this.launchable(kernel);
    const scalars: Record<string, number> = {};
    const values = kernel.params.map((p) => this.arg(p, args[p.name], kernel.name, scalars));
    const programs = programCount(kernel.programs, scalars);
    if (programs === 0) return;
    const g = gridFor(programs, this.api.maxGridX, this.api.maxGridY);
    // the driver copies kernelParams when the launch is queued, so one table per kernel suffices
    writeArgs(l.view, l.layout, values);
    this.api.launch(l.fn, g.x, g.y, kernel.threads, l.addr + l.layout.slotBytes);
  }

  private arg(p: Param, a: KernelArg | undefined, kernel: string, scalars: Record<string, number>): number {
    if (a === undefined) throw new GpuError(`kernel ${kernel}: missing argument ${p.name}`);
    if (p.kind === 'scalar') {
      if (typeof a !== 'number') throw new GpuError(`kernel ${kernel}: ${p.name} must be a number`);
      scalars[p.name] = a;
      return a;
    }
    if (p.kind === 'list') {
      if (!Array.isArray(a)) throw new GpuError(`kernel ${kernel}: ${p.name} must be a buffer list`);
      return this.listTable(a as readonly DeviceBuffer[]).ptr;
    }
    if (!(a instanceof GpuBuffer)) throw new GpuError(`kernel ${kernel}: ${p.name} must be a ${this.name} buffer`);
    return a.ptr;
  }

  /** A device array of the list's device pointers, built once per list. */
  private listTable(list: readonly DeviceBuffer[]): GpuBuffer {
    let t = this.lists.get(list);
    if (!t) {
      t = this.alloc(8 * Math.max(1, list.length));
      this.upload(t, new BigUint64Array(list.map((b) => BigInt((b as GpuBuffer).ptr))));
      this.lists.set(list, t);
    }
    return t;
  }

  private launchable(kernel: Kernel): Launchable {
    let l = this.fns.get(kernel.name);
    if (!l) {
      const image = cachedBinary(this.compiler, kernel.name, this.renderer.renderModule([kernel]));
      const fn = this.api.getFunction(this.api.loadModule(image), kernel.name);
      const layout = argLayout(kernel.params);
      const addr = malloc(layout.totalBytes);
      if (!addr) throw new RangeError('out of host memory for kernel arguments');
      const view = new DataView(nativeView(addr, layout.totalBytes));
      writeArgTable(view, layout, addr);
      l = { fn, layout, addr, view };
      this.fns.set(kernel.name, l);
    }
    return l;
  }

  /** Waits for every queued launch and copy. */
  synchronize(): void {
    this.api.synchronize();
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    try {
      this.api.synchronize();
    } finally {
      for (const b of this.live) this.api.free(b.ptr);
      for (const ptrs of this.pool.values()) for (const p of ptrs) this.api.free(p);
      for (const l of this.fns.values()) free(l.addr);
      this.live.clear();
      this.pool.clear();
      this.fns.clear();
      this.api.close();
    }
  }
}
