// The native CPU device: kernels rendered to C, compiled at run time, called through koffi;
// weights memory-mapped straight from the model files (no copy, pages read on first touch).
import koffi from 'koffi';
import { statSync } from 'node:fs';
import type { Kernel, Param } from '../../dsl/ir.js';
import { CRenderer, cPrelude } from '../../dsl/render-c.js';
import type { TensorInfo } from '../../formats/safetensors.js';
import type { TensorStore } from '../../formats/tensor-store.js';
import { DTYPE_BYTES, isQuantDType } from '../../formats/dtype.js';
import type { Device, DeviceBuffer, KernelArg } from '../device/device.js';
import { compileShared } from './c-compiler.js';
import type { CCompiler } from './c-compiler.js';
import { MAP_PRIVATE, O_RDONLY, PROT_READ, close, free, malloc, mapFailed, memcpyToNative, mmap, munmap, nativeView, open } from './libc.js';

export class CpuBuffer implements DeviceBuffer {
  constructor(
    readonly addr: number,
    readonly bytes: number,
    readonly owned: boolean,
  ) {}
}

type NativeFn = (...args: Array<number>) => void;

const RUNTIME_SOURCE = `#include <omp.h>
void tessera_set_threads(int n) { omp_set_num_threads(n); }
int tessera_max_threads(void) { return omp_get_max_threads(); }
`;

export class CpuDevice implements Device {
  readonly name = 'cpu';
  readonly language = 'c';
  readonly threads: number;
  readonly vectorLanes: number;
  private readonly renderer: CRenderer;
  private readonly prelude: string;
  private readonly fns = new Map<string, { fn: NativeFn; params: readonly Param[] }>();
  private readonly maps = new Map<string, { addr: number; bytes: number }>();
  private readonly lists = new WeakMap<readonly DeviceBuffer[], CpuBuffer>();
  private readonly owned = new Set<CpuBuffer>();

  constructor(
    private readonly cc: CCompiler,
    threads?: number,
  ) {
    this.renderer = new CRenderer(cc.isa.target);
    this.vectorLanes = cc.isa.target.lanes;
    this.prelude = cPrelude(cc.isa.target);
    // Idle OpenMP threads spin briefly, then sleep (libgomp reads this when it loads, with the
    // first kernel library): a wake-up from sleep costs tens of microseconds per threaded kernel
    // (decode, Qwen2-1.5B Q4_K_M, 2 threads: +10-30% over sleeping at once), while threads that
    // spin long turn a core taken by another process into 2-4x slower decoding; ~300 spins (a few
    // microseconds) measured no slower than sleeping with a busy neighbour (docs/benchmarks.md).
    // An OMP_WAIT_POLICY of the user's own is kept as it is.
    if (process.env['OMP_WAIT_POLICY'] === undefined) {
      process.env['OMP_WAIT_POLICY'] = 'active';
      process.env['GOMP_SPINCOUNT'] ??= '300';
    }
    const rt = koffi.load(compileShared(cc, 'tessera_runtime', RUNTIME_SOURCE));
    if (threads !== undefined) (rt.func('void tessera_set_threads(int)') as (n: number) => void)(threads);
    this.threads = (rt.func('int tessera_max_threads(void)') as () => number)();
  }

  alloc(bytes: number): CpuBuffer {
    const addr = malloc(Math.max(bytes, 64));
    if (!addr) throw new RangeError(`out of memory allocating ${bytes} bytes`);
    const b = new CpuBuffer(addr, bytes, true);
    this.owned.add(b);
    return b;
  }

  release(buf: DeviceBuffer): void {
    const b = buf as CpuBuffer;
    if (b.owned && this.owned.delete(b)) free(b.addr);
  }

  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset = 0): void {
    const b = buf as CpuBuffer;
    if (byteOffset + data.byteLength > b.bytes) throw new RangeError(`upload of ${data.byteLength} bytes at ${byteOffset} overflows a ${b.bytes}-byte buffer`);
    memcpyToNative(b.addr + byteOffset, data, data.byteLength);
  }

  async download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer> {
    return this.view(buf, bytes).slice(0);
  }

  /** Zero-copy view of a buffer's memory (valid until the buffer is released). */
  view(buf: DeviceBuffer, bytes?: number): ArrayBuffer {
    const b = buf as CpuBuffer;
    return nativeView(b.addr, bytes ?? b.bytes);
  }

  loadTensor(_store: TensorStore, t: TensorInfo): DeviceBuffer {
    let map = this.maps.get(t.file);
    if (!map) {
      const bytes = statSync(t.file).size;
      const fd = open(t.file, O_RDONLY);
      if (fd < 0) throw new Error(`cannot open ${t.file} for mapping`);
      const addr = mmap(0, bytes, PROT_READ, MAP_PRIVATE, fd, 0);
      close(fd);
      if (mapFailed(addr)) throw new Error(`cannot memory-map ${t.file}`);
      map = { addr, bytes };
      this.maps.set(t.file, map);
    }
    const addr = map.addr + t.offset;
    // kernels read quantized blocks byte by byte: any address will do
    const align = isQuantDType(t.dtype) ? 1 : DTYPE_BYTES[t.dtype];
    if (addr % align === 0) return new CpuBuffer(addr, t.byteLength, false);
    // Misaligned data (an odd header length): copy once into aligned memory.
    const copy = this.alloc(t.byteLength);
    memcpyToNative(copy.addr, new Uint8Array(nativeView(addr, t.byteLength)), t.byteLength);
    return copy;
  }

  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void {
    const { fn, params } = this.compiled(kernel);
    const argv = params.map((p) => this.arg(p, args[p.name], kernel.name));
    if (!this.profile) return fn(...argv);
    const t0 = performance.now();
    fn(...argv);
    const entry = this.profile.get(kernel.name) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += performance.now() - t0;
    this.profile.set(kernel.name, entry);
  }

  /** TESSERA_PROFILE=1: time per kernel, printed to stderr when the device is disposed. */
  private readonly profile = process.env['TESSERA_PROFILE'] ? new Map<string, { calls: number; ms: number }>() : null;

  private printProfile(): void {
    if (!this.profile) return;
    const rows = [...this.profile.entries()].sort((a, b) => b[1].ms - a[1].ms);
    const total = rows.reduce((t, [, v]) => t + v.ms, 0);
    process.stderr.write(`kernel time ${total.toFixed(1)} ms\n`);
    for (const [name, v] of rows) process.stderr.write(`  ${v.ms.toFixed(1).padStart(9)} ms ${String(v.calls).padStart(7)} calls  ${name}\n`);
  }

  private arg(p: Param, a: KernelArg | undefined, kernel: string): number {
    if (a === undefined) throw new Error(`kernel ${kernel}: missing argument ${p.name}`);
    if (p.kind === 'scalar') {
      if (typeof a !== 'number') throw new Error(`kernel ${kernel}: ${p.name} must be a number`);
      return a;
    }
    if (p.kind === 'list') {
      if (!Array.isArray(a)) throw new Error(`kernel ${kernel}: ${p.name} must be a buffer list`);
      return this.listTable(a as readonly DeviceBuffer[]).addr;
    }
    if (!(a instanceof CpuBuffer)) throw new Error(`kernel ${kernel}: ${p.name} must be a cpu buffer`);
    return a.addr;
  }

  /** A native array of the list's addresses, built once per list. */
  private listTable(list: readonly DeviceBuffer[]): CpuBuffer {
    let t = this.lists.get(list);
    if (!t) {
      t = this.alloc(8 * Math.max(1, list.length));
      this.upload(t, new BigUint64Array(list.map((b) => BigInt((b as CpuBuffer).addr))));
      this.lists.set(list, t);
    }
    return t;
  }

  private compiled(kernel: Kernel): { fn: NativeFn; params: readonly Param[] } {
    let c = this.fns.get(kernel.name);
    if (!c) {
      const source = this.prelude + this.renderer.render(kernel);
      const lib = koffi.load(compileShared(this.cc, kernel.name, source));
      const sig = kernel.params.map((p) => (p.kind === 'scalar' ? (p.t === 'f32' ? 'float' : p.t === 'u32' ? 'uint32_t' : 'int32_t') : 'uintptr_t'));
      c = { fn: lib.func(kernel.name, 'void', sig) as NativeFn, params: kernel.params };
      this.fns.set(kernel.name, c);
    }
    return c;
  }

  dispose(): void {
    this.printProfile();
    for (const b of this.owned) free(b.addr);
    this.owned.clear();
    for (const m of this.maps.values()) munmap(m.addr, m.bytes);
    this.maps.clear();
  }
}
