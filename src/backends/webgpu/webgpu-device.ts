// The WebGPU device: DSL kernels rendered to WGSL, weights uploaded once in their file dtype
// (8/16-bit data as raw bytes that the shaders unpack from u32 words), every launch encoded into
// one command batch that is submitted only when the host reads a result.
import type { Kernel, Param } from '../../dsl/ir.js';
import type { TensorInfo } from '../../formats/safetensors.js';
import type { TensorStore } from '../../formats/tensor-store.js';
import type { Device, DeviceBuffer, KernelArg } from '../device/device.js';
import { BUFFER_USAGE, MAP_MODE_READ, WebGpuError } from './gpu-context.js';
import type { WebGpuContext } from './gpu-context.js';
import { CommandBatch } from './command-batch.js';
import { PipelineCache } from './pipelines.js';
import type { KernelPipeline } from './pipelines.js';
import { programCount } from './program-count.js';
import { mergedBinding } from '../../dsl/render-wgsl.js';
import { ErrorScopes } from './error-scopes.js';
import { TransientPool } from './transient-pool.js';
import { KernelProfiler } from './kernel-profiler.js';

const STORAGE = BUFFER_USAGE.STORAGE | BUFFER_USAGE.COPY_SRC | BUFFER_USAGE.COPY_DST;
/** Largest uniform block of any kernel (bytes); a dispatch's slot in the uniform buffer. */
const MAX_UNIFORM_BYTES = 256;
/** Queue writes are split into pieces of this size so Dawn never stages one huge copy. */
const WRITE_CHUNK = 1 << 24;
const BIND_GROUP_CACHE = 8192;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** A device buffer; weights stay on the host until a kernel first binds them. */
export class WgBuffer implements DeviceBuffer {
  gpu: GPUBuffer | null = null;
  constructor(
    readonly id: number,
    readonly bytes: number,
    /** where a weight's bytes come from (null for buffers written by uploads or kernels) */
    readonly source: { readonly store: TensorStore; readonly tensor: TensorInfo } | null,
  ) {}
}

export interface WebGpuStats {
  submits: number;
  dispatches: number;
  uploadedBytes: number;
  downloadedBytes: number;
}

export interface WebGpuDeviceOptions {
  /** dispose() also destroys the GPU device (default true; false when tests share one) */
  readonly ownsContext?: boolean;
  /** a pipeline cache shared with other devices on the same GPU device */
  readonly pipelines?: PipelineCache;
  /** submit every dispatch alone and time it (slow; printed by printProfile) */
  readonly profile?: boolean;
}

export class WebGpuDevice implements Device {
  readonly name = 'webgpu';
  readonly language = 'wgsl';
  readonly stats: WebGpuStats = { submits: 0, dispatches: 0, uploadedBytes: 0, downloadedBytes: 0 };
  private readonly device: GPUDevice;
  private readonly pipelines: PipelineCache;
  private readonly batch: CommandBatch;
  private readonly scopes: ErrorScopes;
  private readonly transient: TransientPool;
  private readonly owned = new Set<WgBuffer>();
  private readonly tensors = new Map<string, WgBuffer>();
  private readonly lists = new WeakMap<readonly DeviceBuffer[], { buf: WgBuffer; stride: number }>();
  private readonly splits = new WeakMap<WgBuffer, Map<string, WgBuffer[]>>();
  private readonly bindGroups = new Map<string, GPUBindGroup>();
  private nextId = 0;
  private disposed = false;
  /** the first asynchronous GPU error; every later operation fails with it */
  private failure: Error | null = null;

  private readonly ownsContext: boolean;
  private readonly profiler: KernelProfiler | null;

  constructor(
    readonly ctx: WebGpuContext,
    options: WebGpuDeviceOptions = {},
  ) {
    this.device = ctx.device;
    this.ownsContext = options.ownsContext ?? true;
    this.profiler = options.profile ? new KernelProfiler(ctx.device.queue) : null;
    this.pipelines = options.pipelines ?? new PipelineCache(ctx);
    this.scopes = new ErrorScopes(ctx.device);
    this.scopes.open();
    this.batch = new CommandBatch(ctx.device, ctx.limits.minUniformBufferOffsetAlignment, MAX_UNIFORM_BYTES);
    this.transient = new TransientPool(ctx.device, STORAGE);
  }

  // ---- memory ------------------------------------------------------------------------------------
  private check(): void {
    if (this.disposed) throw new WebGpuError('the WebGPU device was disposed');
    if (this.ctx.lostReason) throw new WebGpuError(`the WebGPU device was lost (${this.ctx.lostReason})`);
    if (this.failure) throw this.failure;
    this.scopes.open();
  }

  private createGpuBuffer(bytes: number, label: string): GPUBuffer {
    const size = Math.max(16, roundUp(bytes, 4));
    if (size > this.ctx.limits.maxBufferSize) throw new WebGpuError(`${label}: ${size} bytes exceed this adapter's maxBufferSize (${this.ctx.limits.maxBufferSize})`);
    return this.device.createBuffer({ label, size, usage: STORAGE });
  }

  alloc(bytes: number): WgBuffer {
    this.check();
    const b = new WgBuffer(this.nextId++, bytes, null);
    b.gpu = this.createGpuBuffer(bytes, `buffer ${b.id}`);
    this.owned.add(b);
    return b;
  }

  release(buf: DeviceBuffer): void {
    const b = buf as WgBuffer;
    if (!this.owned.delete(b) || !b.gpu) return;
    const gpu = b.gpu;
    b.gpu = null;
    this.bindGroups.clear();
    // destroying a buffer that unsubmitted commands use would invalidate them
    if (this.batch.references(gpu)) this.batch.onSubmit(() => gpu.destroy());
    else gpu.destroy();
  }

  private write(gpu: GPUBuffer, offset: number, data: Uint8Array): void {
    const aligned = data.byteLength % 4 === 0 ? data : padTo4(data);
    for (let at = 0; at < aligned.byteLength; at += WRITE_CHUNK) {
      this.device.queue.writeBuffer(gpu, offset + at, aligned, at, Math.min(WRITE_CHUNK, aligned.byteLength - at));
    }
    this.stats.uploadedBytes += data.byteLength;
  }

  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset = 0): void {
    this.check();
    const gpu = this.gpuOf(buf as WgBuffer);
    if (byteOffset % 4 !== 0) throw new WebGpuError(`upload at byte offset ${byteOffset}: WebGPU writes start at multiples of 4`);
    if (byteOffset + data.byteLength > buf.bytes) throw new RangeError(`upload of ${data.byteLength} bytes at ${byteOffset} overflows a ${buf.bytes}-byte buffer`);
    // encoded commands that read this buffer must see its old contents: submit them first
    if (this.batch.references(gpu)) this.submit();
    this.write(gpu, byteOffset, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }

  async download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer> {
    this.check();
    const n = bytes ?? buf.bytes;
    if (n === 0) return new ArrayBuffer(0);
    const size = roundUp(n, 4);
    const staging = this.device.createBuffer({ label: 'tessera readback', size, usage: BUFFER_USAGE.MAP_READ | BUFFER_USAGE.COPY_DST });
    this.batch.copy(this.gpuOf(buf as WgBuffer), 0, staging, 0, size);
    const errors = this.submit();
    try {
      const [mapped, failed] = await Promise.allSettled([staging.mapAsync(MAP_MODE_READ, 0, size), errors]);
      if (failed.status === 'rejected') throw failed.reason;
      if (mapped.status === 'rejected') throw new WebGpuError(`reading back a result failed: ${String(mapped.reason)}`);
      const out = staging.getMappedRange(0, size).slice(0, n);
      staging.unmap();
      this.stats.downloadedBytes += n;
      return out;
    } finally {
      staging.destroy();
    }
  }

  loadTensor(store: TensorStore, tensor: TensorInfo): DeviceBuffer {
    const key = `${tensor.file}\u0000${tensor.offset}\u0000${tensor.byteLength}`;
    let b = this.tensors.get(key);
    if (!b) {
      b = new WgBuffer(this.nextId++, tensor.byteLength, { store, tensor });
      this.tensors.set(key, b);
      this.owned.add(b);
    }
    return b;
  }

  /** The GPU buffer of `b`, uploading a weight the first time it is needed. */
  private gpuOf(b: WgBuffer): GPUBuffer {
    if (b.gpu) return b.gpu;
    if (!b.source) throw new WebGpuError(`buffer ${b.id} was released`);
    const { store, tensor } = b.source;
    const gpu = this.createGpuBuffer(tensor.byteLength, tensor.name);
    this.write(gpu, 0, store.read(tensor.name));
    b.gpu = gpu;
    return gpu;
  }

  /** The largest buffer a kernel can bind on this adapter. */
  get bindingLimit(): number {
    return this.ctx.limits.maxStorageBufferBindingSize;
  }

  /** A list is packed into one binding (see packList). */
  get maxListBytes(): number {
    return this.bindingLimit;
  }

  /**
   * `buf` as consecutive blocks of `rowsPerBlock` rows of `rowBytes` bytes (the last one shorter),
   * each a buffer of its own (built once): how weights larger than the binding limit are bound.
   * A weight still on the host is read once and uploaded block by block, never as a whole.
   */
  splitRows(buf: DeviceBuffer, rowBytes: number, rowsPerBlock: number): WgBuffer[] {
    this.check();
    const b = buf as WgBuffer;
    const key = `${rowBytes}x${rowsPerBlock}`;
    const cached = this.splits.get(b)?.get(key);
    if (cached) return cached;
    const blockBytes = rowBytes * rowsPerBlock;
    if (blockBytes % 4 !== 0) throw new WebGpuError(`row blocks of ${blockBytes} bytes do not start at 4-byte boundaries`);
    const rows = Math.ceil(b.bytes / rowBytes);
    const host = !b.gpu && b.source ? b.source.store.read(b.source.tensor.name) : null;
    const blocks: WgBuffer[] = [];
    for (let r = 0; r < rows; r += rowsPerBlock) {
      const start = r * rowBytes;
      const bytes = Math.min(blockBytes, b.bytes - start);
      const block = this.alloc(bytes);
      if (host) this.write(block.gpu!, 0, host.subarray(start, start + bytes));
      else this.batch.copy(this.gpuOf(b), start, block.gpu!, 0, roundUp(bytes, 4));
      blocks.push(block);
    }
    const byShape = this.splits.get(b) ?? new Map<string, WgBuffer[]>();
    byShape.set(key, blocks);
    this.splits.set(b, byShape);
    return blocks;
  }

  // ---- kernels -----------------------------------------------------------------------------------
  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void {
    this.check();
    const p = this.pipelines.get(kernel);
    if (p.uniformBytes > MAX_UNIFORM_BYTES) throw new WebGpuError(`kernel ${kernel.name}: ${p.uniformBytes} bytes of scalars exceed ${MAX_UNIFORM_BYTES}`);
    const scalars: Record<string, number> = {};
    const buffers = new Map<string, GPUBuffer>();
    const strides: Record<string, number> = {};
    for (const param of kernel.params) {
      const a = args[param.name];
      if (a === undefined) throw new WebGpuError(`kernel ${kernel.name}: missing argument ${param.name}`);
      if (param.kind === 'scalar') {
        if (typeof a !== 'number') throw new WebGpuError(`kernel ${kernel.name}: ${param.name} must be a number`);
        scalars[param.name] = a;
      } else if (param.kind === 'list') {
        if (!Array.isArray(a)) throw new WebGpuError(`kernel ${kernel.name}: ${param.name} must be a buffer list`);
        const packed = this.packList(a as readonly DeviceBuffer[], param, kernel.name);
        buffers.set(param.name, this.gpuOf(packed.buf));
        strides[`${param.name}_stride`] = packed.stride;
      } else {
        if (!(a instanceof WgBuffer)) throw new WebGpuError(`kernel ${kernel.name}: ${param.name} must be a webgpu buffer`);
        buffers.set(param.name, this.gpuOf(a));
      }
    }
    const programs = programCount(kernel.programs, scalars);
    if (programs === 0) return;
    const maxDim = this.ctx.limits.maxComputeWorkgroupsPerDimension;
    const x = Math.min(programs, maxDim);
    const y = Math.ceil(programs / x);
    if (y > maxDim) throw new WebGpuError(`kernel ${kernel.name}: ${programs} programs exceed ${maxDim}² workgroups`);
    if (this.batch.full) this.submit();
    const merged = this.mergeBuffers(p, buffers, scalars);
    const slot = this.batch.uniformSlot();
    p.fields.forEach((f, i) => {
      const v = f.name in scalars ? scalars[f.name]! : (strides[f.name] ?? 0);
      if (f.t === 'f32') slot.view.setFloat32(slot.offset + 4 * i, v, true);
      else if (f.t === 'u32') slot.view.setUint32(slot.offset + 4 * i, v >>> 0, true);
      else slot.view.setInt32(slot.offset + 4 * i, v | 0, true);
    });
    const storage = p.bindings.filter((b) => b.kind === 'storage');
    const bound = storage.map((b) => merged.get(b.name) ?? buffers.get(b.name)!);
    // WebGPU forbids binding one buffer both read-only and writable in a dispatch: the kernel
    // reads a snapshot instead (as if its inputs were read before any output is written)
    const written = new Set(bound.filter((_, i) => storage[i]!.write));
    bound.forEach((b, i) => {
      if (storage[i]!.write || !written.has(b)) return;
      const copy = this.transient.take(b.size, this.batch);
      this.batch.copy(b, 0, copy, 0, b.size);
      bound[i] = copy;
    });
    for (const [i, b] of bound.entries()) {
      if (b.size > this.ctx.limits.maxStorageBufferBindingSize) {
        const name = p.bindings[i]!.name;
        throw new WebGpuError(`kernel ${kernel.name}: ${name} is ${b.size} bytes, over this adapter's maxStorageBufferBindingSize (${this.ctx.limits.maxStorageBufferBindingSize})`);
      }
    }
    this.batch.dispatch(kernel.name, p.pipeline, this.bindGroup(p, bound, bound.some((b) => this.transient.owns(b))), slot.offset, x, y, bound);
    this.stats.dispatches++;
    if (this.profiler) {
      void this.submit();
      this.profiler.submitted(kernel.name);
    }
  }

  private bindGroup(p: KernelPipeline, bound: readonly GPUBuffer[], transient: boolean): GPUBindGroup {
    const entries: GPUBindGroupEntry[] = bound.map((buffer, i) => ({ binding: i, resource: { buffer } }));
    entries.push({ binding: bound.length, resource: { buffer: this.batch.uniformBuffer, offset: 0, size: p.uniformBytes } });
    if (transient) return this.device.createBindGroup({ layout: p.layout, entries });
    const key = `${p.id}:${bound.map((b) => idOf(b)).join(',')}`;
    let g = this.bindGroups.get(key);
    if (!g) {
      if (this.bindGroups.size >= BIND_GROUP_CACHE) this.bindGroups.clear();
      g = this.device.createBindGroup({ label: p.kernel.name, layout: p.layout, entries });
      this.bindGroups.set(key, g);
    }
    return g;
  }

  /**
   * Concatenates each group of buffers a binding plan merges into a transient buffer (by binding
   * name) and sets the offsets of its members.
   */
  private mergeBuffers(p: KernelPipeline, buffers: ReadonlyMap<string, GPUBuffer>, scalars: Record<string, number>): Map<string, GPUBuffer> {
    const out = new Map<string, GPUBuffer>();
    p.plan.merged.forEach((names, g) => {
      const parts = names.map((name) => buffers.get(name)!);
      const merged = this.transient.take(parts.reduce((n, b) => n + b.size, 0), this.batch);
      let at = 0;
      names.forEach((name, i) => {
        const b = parts[i]!;
        this.batch.copy(b, 0, merged, at, b.size);
        scalars[`${name}__base`] = at / 4; // merged buffers all have 4-byte elements
        at += b.size;
      });
      out.set(mergedBinding(g), merged);
    });
    return out;
  }

  /** A list's matrices packed back to back in one buffer (built once per list). */
  private packList(list: readonly DeviceBuffer[], param: Extract<Param, { kind: 'list' }>, kernel: string): { buf: WgBuffer; stride: number } {
    let packed = this.lists.get(list);
    if (packed) return packed;
    if (list.length === 0) throw new WebGpuError(`kernel ${kernel}: ${param.name} is an empty list`);
    const elemBytes = param.elem === 'u8' ? 1 : param.elem === 'u16' ? 2 : 4;
    const strideBytes = roundUp(Math.max(...list.map((b) => b.bytes)), 4);
    const total = strideBytes * list.length;
    if (total > this.ctx.limits.maxStorageBufferBindingSize) {
      throw new WebGpuError(
        `kernel ${kernel}: the ${list.length} matrices of ${param.name} take ${total} bytes packed, over this adapter's maxStorageBufferBindingSize (${this.ctx.limits.maxStorageBufferBindingSize})`,
      );
    }
    const buf = this.alloc(total);
    list.forEach((item, i) => {
      const b = item as WgBuffer;
      // weights not yet on the GPU go straight from the host into the packed buffer
      if (!b.gpu && b.source) this.write(buf.gpu!, i * strideBytes, b.source.store.read(b.source.tensor.name));
      else this.batch.copy(this.gpuOf(b), 0, buf.gpu!, i * strideBytes, roundUp(b.bytes, 4));
    });
    packed = { buf, stride: strideBytes / elemBytes };
    this.lists.set(list, packed);
    return packed;
  }

  /** Submits everything encoded so far; resolves (or rejects with the first error) once checked. */
  submit(): Promise<void> {
    const kernels = this.batch.submit(this.device.queue);
    if (kernels.length) this.stats.submits++;
    const errors = this.scopes.close(kernels);
    errors.catch((e: unknown) => {
      this.failure ??= e instanceof Error ? e : new WebGpuError(String(e));
    });
    this.scopes.open();
    return errors;
  }

  /** Submits pending work and waits for the GPU to finish it. */
  async flush(): Promise<void> {
    const errors = this.submit();
    await this.device.queue.onSubmittedWorkDone();
    await errors;
  }

  /** Kernel times of profile mode, slowest first. */
  profile(): Array<{ kernel: string; calls: number; ms: number }> {
    return this.profiler?.rows() ?? [];
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.scopes.close([]).catch(() => undefined);
    this.batch.destroy();
    this.transient.destroy();
    for (const b of this.owned) b.gpu?.destroy();
    this.owned.clear();
    this.tensors.clear();
    this.bindGroups.clear();
    if (this.ownsContext) this.ctx.close();
  }
}

/** Stable ids of GPU buffers for bind group cache keys. */
const gpuIds = new WeakMap<GPUBuffer, number>();
let nextGpuId = 0;
function idOf(b: GPUBuffer): number {
  let id = gpuIds.get(b);
  if (id === undefined) {
    id = nextGpuId++;
    gpuIds.set(b, id);
  }
  return id;
}

function padTo4(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(roundUp(data.byteLength, 4));
  out.set(data);
  return out;
}
