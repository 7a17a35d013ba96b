// The native CPU device: kernels rendered to C, compiled at run time; weights memory-mapped
// straight from the model files (no copy, pages read on first touch). Launches are queued and run
// in one OpenMP parallel region per queue, the threads meeting at a light barrier between
// kernels (spin briefly, then yield the core), instead of one fork/join per kernel: the queue runs
// when something reads or writes device memory from the host (a step's logits), or when it fills.
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

const RUNTIME_SOURCE = `#include <omp.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define TQ_PAUSE() _mm_pause()
#elif defined(__aarch64__)
#define TQ_PAUSE() __asm__ __volatile__("yield")
#else
#define TQ_PAUSE() ((void)0)
#endif
/* the default thread count: OMP_NUM_THREADS, else one per CPU */
int tessera_max_threads(void) { return omp_get_max_threads(); }

/* A queue of launches runs on the calling thread and up to TQ_MAX - 1 workers, which all walk
   the same jobs in order: each claims runs of a job's programs until none are left, then waits
   until the job is finished (its done counter reaches its program count) before the next one.
   A thread that arrives late finds the work taken and moves on, so nobody waits for a thread
   that is not running unless it holds a run of programs. Waits spin briefly, then yield the core;
   idle workers sleep on a condition variable between queues. Two arenas alternate: a late worker
   may still read queue g while queue g + 1 runs; the caller waits for every worker to be past
   queue g before it reuses g's arena for g + 2. */
#define TQ_MAX 256
#define TQ_SPIN 2000
#define TQ_IDLE_SPIN 4000
typedef int32_t (*tq_job_fn)(const uint64_t*, int32_t*, int32_t*, int32_t);
typedef struct { uint64_t* jobs; uint64_t* slots; int32_t* next; int32_t* done; int32_t n, nth, cap_jobs, cap_slots, cap_ctr; } tq_arena;
static tq_arena tq_ar[2];
static int32_t tq_gen, tq_workers = 1;
static int32_t tq_left[TQ_MAX];
static pthread_mutex_t tq_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t tq_cv = PTHREAD_COND_INITIALIZER;

static void tq_wait_ge(const int32_t* p, int32_t v) {
  for (int spins = 0; __atomic_load_n(p, __ATOMIC_ACQUIRE) < v; spins++) {
    if (spins < TQ_SPIN) TQ_PAUSE();
    else sched_yield();
  }
}

static void tq_scan(const tq_arena* a) {
  for (int32_t i = 0; i < a->n; i++) {
    const tq_job_fn fn = (tq_job_fn)(uintptr_t)a->jobs[2 * i];
    const int32_t total = fn(a->slots + a->jobs[2 * i + 1], &a->next[i], &a->done[i], a->nth);
    tq_wait_ge(&a->done[i], total);
  }
}

static void* tq_worker(void* arg) {
  const int32_t w = (int32_t)(intptr_t)arg;
  int32_t seen = __atomic_load_n(&tq_left[w], __ATOMIC_ACQUIRE);
  for (;;) {
    int32_t g;
    for (int spins = 0; (g = __atomic_load_n(&tq_gen, __ATOMIC_ACQUIRE)) == seen; spins++) {
      if (spins < TQ_IDLE_SPIN) { TQ_PAUSE(); continue; }
      pthread_mutex_lock(&tq_mu);
      while (__atomic_load_n(&tq_gen, __ATOMIC_ACQUIRE) == seen) pthread_cond_wait(&tq_cv, &tq_mu);
      pthread_mutex_unlock(&tq_mu);
    }
    const tq_arena* a = &tq_ar[g & 1];
    if (w < a->nth) tq_scan(a);
    seen = g;
    __atomic_store_n(&tq_left[w], g, __ATOMIC_RELEASE);
  }
  return 0;
}

static int tq_grow(void** p, int32_t* cap, int32_t need, size_t item) {
  if (need <= *cap) return 1;
  int32_t c = *cap ? *cap : 256;
  while (c < need) c *= 2;
  void* q = realloc(*p, (size_t)c * item);
  if (!q) return 0;
  *p = q;
  *cap = c;
  return 1;
}

/* Runs n jobs (pairs: job function, offset of its arguments in slots) on nth threads; returns
   0, or -1 when memory or threads could not be had. */
int32_t tessera_run_jobs(const uint64_t* jobs, const uint64_t* slots, int32_t n, int32_t nslots, int32_t nth) {
  if (nth > TQ_MAX) nth = TQ_MAX;
  while (tq_workers < nth) {
    pthread_t t;
    pthread_attr_t at;
    pthread_attr_init(&at);
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    __atomic_store_n(&tq_left[tq_workers], tq_gen, __ATOMIC_RELEASE);
    const int rc = pthread_create(&t, &at, tq_worker, (void*)(intptr_t)tq_workers);
    pthread_attr_destroy(&at);
    if (rc != 0) return -1;
    tq_workers++;
  }
  const int32_t g = tq_gen + 1;
  tq_arena* a = &tq_ar[g & 1];
  for (int32_t w = 1; w < tq_workers; w++) tq_wait_ge(&tq_left[w], g - 2);
  if (!tq_grow((void**)&a->jobs, &a->cap_jobs, 2 * n, 8) || !tq_grow((void**)&a->slots, &a->cap_slots, nslots, 8)) return -1;
  if (n > a->cap_ctr) {
    int32_t c = a->cap_ctr;
    if (!tq_grow((void**)&a->next, &c, n, 4)) return -1;
    c = a->cap_ctr;
    if (!tq_grow((void**)&a->done, &c, n, 4)) return -1;
    a->cap_ctr = c;
  }
  memcpy(a->jobs, jobs, (size_t)n * 16);
  memcpy(a->slots, slots, (size_t)nslots * 8);
  memset(a->next, 0, (size_t)n * 4);
  memset(a->done, 0, (size_t)n * 4);
  a->n = n;
  a->nth = nth;
  pthread_mutex_lock(&tq_mu);
  __atomic_store_n(&tq_gen, g, __ATOMIC_RELEASE);
  pthread_cond_broadcast(&tq_cv);
  pthread_mutex_unlock(&tq_mu);
  tq_scan(a);
  return 0;
}
`;

/** Launches one queue holds before it runs, and their argument slots. */
const MAX_JOBS = 4096;
const MAX_SLOTS = 64 * MAX_JOBS;

/**
 * The launches not run yet: a job table (job function address, offset of its arguments) and
 * 64-bit argument slots in native memory, handed to the runtime's threads in one call.
 */
class LaunchQueue {
  private readonly jobsAddr = malloc(MAX_JOBS * 16);
  private readonly slotsAddr = malloc(MAX_SLOTS * 8);
  private readonly jobs = new Uint32Array(nativeView(this.jobsAddr, MAX_JOBS * 16));
  private readonly u32 = new Uint32Array(nativeView(this.slotsAddr, MAX_SLOTS * 8));
  private readonly i32 = new Int32Array(this.u32.buffer);
  private readonly f32 = new Float32Array(this.u32.buffer);
  private n = 0;
  private slots = 0;

  constructor(
    private readonly threads: number,
    private readonly runJobs: (jobs: number, slots: number, n: number, nslots: number, nth: number) => number,
  ) {
    if (!this.jobsAddr || !this.slotsAddr) throw new RangeError('out of memory for the launch queue');
  }

  /** Queue the job at `address` with its arguments: buffer addresses and scalars of the given types. */
  push(address: number, values: readonly number[], count: number, types: readonly SlotType[]): void {
    if (this.n === MAX_JOBS || this.slots + count > MAX_SLOTS) this.flush();
    const base = this.slots;
    for (let i = 0; i < count; i++) {
      const v = values[i]!;
      const t = types[i]!;
      const w = 2 * (base + i);
      if (t === 'f32') this.f32[w] = v;
      else if (t === 'i32') this.i32[w] = v;
      else this.u32[w] = v >>> 0;
      this.u32[w + 1] = t === 'ptr' ? Math.floor(v / 4294967296) : 0;
    }
    const j = 4 * this.n;
    this.jobs[j] = address >>> 0;
    this.jobs[j + 1] = Math.floor(address / 4294967296);
    this.jobs[j + 2] = base;
    this.jobs[j + 3] = 0;
    this.n++;
    this.slots += count;
  }

  /** Run every queued launch, in order. */
  flush(): void {
    if (this.n === 0) return;
    const n = this.n;
    const slots = this.slots;
    this.n = 0;
    this.slots = 0;
    if (this.runJobs(this.jobsAddr, this.slotsAddr, n, slots, this.threads) !== 0) throw new RangeError('the CPU launch queue could not get memory or threads');
  }

  dispose(): void {
    free(this.jobsAddr);
    free(this.slotsAddr);
  }
}

type SlotType = 'ptr' | 'f32' | 'i32' | 'u32';

export class CpuDevice implements Device {
  readonly name = 'cpu';
  readonly language = 'c';
  readonly threads: number;
  readonly vectorLanes: number;
  private readonly renderer: CRenderer;
  private readonly prelude: string;
  private readonly fns = new Map<string, { address: number; params: readonly Param[]; types: readonly SlotType[] }>();
  private readonly queue: LaunchQueue;
  /** one launch's argument values, reused (no array per launch) */
  private readonly argv: number[] = [];
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
    const rt = koffi.load(compileShared(cc, 'tessera_runtime', RUNTIME_SOURCE));
    this.threads = threads ?? (rt.func('int tessera_max_threads(void)') as () => number)();
    this.queue = new LaunchQueue(this.threads, rt.func('int32_t tessera_run_jobs(uintptr_t, uintptr_t, int32_t, int32_t, int32_t)') as (jobs: number, slots: number, n: number, nslots: number, nth: number) => number);
  }

  alloc(bytes: number): CpuBuffer {
    const addr = malloc(Math.max(bytes, 64));
    if (!addr) throw new RangeError(`out of memory allocating ${bytes} bytes`);
    const b = new CpuBuffer(addr, bytes, true);
    this.owned.add(b);
    return b;
  }

  release(buf: DeviceBuffer): void {
    this.queue.flush();
    const b = buf as CpuBuffer;
    if (b.owned && this.owned.delete(b)) free(b.addr);
  }

  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.queue.flush(); // queued kernels see the buffer as it was when they were launched
    const b = buf as CpuBuffer;
    if (byteOffset + data.byteLength > b.bytes) throw new RangeError(`upload of ${data.byteLength} bytes at ${byteOffset} overflows a ${b.bytes}-byte buffer`);
    memcpyToNative(b.addr + byteOffset, data, data.byteLength);
  }

  async download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer> {
    return this.view(buf, bytes).slice(0);
  }

  /** Zero-copy view of a buffer's memory (valid until the buffer is released). */
  view(buf: DeviceBuffer, bytes?: number): ArrayBuffer {
    this.queue.flush();
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
    const { address, params, types } = this.compiled(kernel);
    const argv = this.argv;
    for (let i = 0; i < params.length; i++) argv[i] = this.arg(params[i]!, args[params[i]!.name], kernel.name);
    this.queue.push(address, argv, params.length, types);
    if (!this.profile) return;
    // profiling: every launch alone in its region, timed
    const t0 = performance.now();
    this.queue.flush();
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

  private compiled(kernel: Kernel): { address: number; params: readonly Param[]; types: readonly SlotType[] } {
    let c = this.fns.get(kernel.name);
    if (!c) {
      const source = this.prelude + this.renderer.render(kernel);
      const lib = koffi.load(compileShared(this.cc, kernel.name, source));
      const address = Number((lib.func(`${kernel.name}_job_address`, 'uintptr_t', []) as () => number | bigint)());
      const types = kernel.params.map((p): SlotType => (p.kind === 'scalar' ? (p.t === 'f32' ? 'f32' : p.t === 'u32' ? 'u32' : 'i32') : 'ptr'));
      c = { address, params: kernel.params, types };
      this.fns.set(kernel.name, c);
    }
    return c;
  }

  dispose(): void {
    this.queue.flush();
    this.queue.dispose();
    this.printProfile();
    for (const b of this.owned) free(b.addr);
    this.owned.clear();
    for (const m of this.maps.values()) munmap(m.addr, m.bytes);
    this.maps.clear();
  }
}
