// The zero-dependency device: kernels rendered to JavaScript, buffers are ArrayBuffers.
import type { Kernel, Param } from '../../dsl/ir.js';
import { JsRenderer } from '../../dsl/render-js.js';
import type { TensorInfo } from '../../formats/safetensors.js';
import type { TensorStore } from '../../formats/tensor-store.js';
import { f16ToF32 } from '../../formats/dtype.js';
import { E4M3_VALUES } from '../../numerics/fp8.js';
import type { Device, DeviceBuffer, KernelArg } from '../device/device.js';

export class JsBuffer implements DeviceBuffer {
  private readonly views = new Map<string, ArrayBufferView>();
  constructor(readonly data: ArrayBuffer) {}
  get bytes(): number {
    return this.data.byteLength;
  }
  view(elem: string): ArrayBufferView {
    let v = this.views.get(elem);
    if (!v) {
      const n = (b: number) => Math.floor(this.data.byteLength / b);
      v =
        elem === 'f32' ? new Float32Array(this.data, 0, n(4))
        : elem === 'i32' ? new Int32Array(this.data, 0, n(4))
        : elem === 'u32' ? new Uint32Array(this.data, 0, n(4))
        : elem === 'u16' ? new Uint16Array(this.data, 0, n(2))
        : new Uint8Array(this.data);
      this.views.set(elem, v);
    }
    return v;
  }
}

/** A tensor read from its file the first time a kernel touches it (so unused experts stay on disk). */
class LazyTensor extends JsBuffer {
  private loaded: ArrayBuffer | null = null;
  constructor(
    private readonly store: TensorStore,
    private readonly tensor: TensorInfo,
  ) {
    super(new ArrayBuffer(0));
  }
  override get bytes(): number {
    return this.tensor.byteLength;
  }
  override view(elem: string): ArrayBufferView {
    if (!this.loaded) {
      const b = this.store.read(this.tensor.name);
      this.loaded = b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
      Object.defineProperty(this, 'data', { value: this.loaded });
    }
    return super.view(elem);
  }
}

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const RUNTIME = {
  u2f: (u: number) => ((u32[0] = u), f32[0]!),
  f2u: (f: number) => ((f32[0] = f), u32[0]!),
  f16: f16ToF32,
  E4M3: E4M3_VALUES,
  dot4i8: (a: number, b: number) => ((a << 24) >> 24) * ((b << 24) >> 24) + ((a << 16) >> 24) * ((b << 16) >> 24) + ((a << 8) >> 24) * ((b << 8) >> 24) + (a >> 24) * (b >> 24),
};

type JsKernelFn = (...args: unknown[]) => void;

export class JsDevice implements Device {
  readonly name = 'js';
  readonly language = 'js';
  private readonly renderer = new JsRenderer();
  private readonly fns = new Map<string, JsKernelFn>();

  alloc(bytes: number): JsBuffer {
    return new JsBuffer(new ArrayBuffer(Math.max(bytes, 16)));
  }
  release(): void {}
  upload(buf: DeviceBuffer, data: ArrayBufferView, byteOffset = 0): void {
    new Uint8Array((buf as JsBuffer).data, byteOffset, data.byteLength).set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  async download(buf: DeviceBuffer, bytes?: number): Promise<ArrayBuffer> {
    const b = buf as JsBuffer;
    return (b.view('u8') as Uint8Array).slice(0, bytes ?? b.bytes).buffer;
  }
  loadTensor(store: TensorStore, tensor: TensorInfo): DeviceBuffer {
    return new LazyTensor(store, tensor);
  }

  run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void {
    let fn = this.fns.get(kernel.name);
    if (!fn) {
      fn = new Function(...kernel.params.map((p) => p.name), 'rt', this.renderer.render(kernel)) as JsKernelFn;
      this.fns.set(kernel.name, fn);
    }
    fn(...kernel.params.map((p) => this.arg(p, args[p.name], kernel.name)), RUNTIME);
  }

  private arg(p: Param, a: KernelArg | undefined, kernel: string): unknown {
    if (a === undefined) throw new Error(`kernel ${kernel}: missing argument ${p.name}`);
    if (p.kind === 'scalar') return a;
    if (p.kind === 'list') {
      // elements resolve on access, so only the experts a step uses are ever read
      const list = a as readonly JsBuffer[];
      return new Proxy(list, { get: (target, key) => (typeof key === 'string' && /^\d+$/.test(key) ? target[Number(key)]!.view(p.elem) : Reflect.get(target, key)) });
    }
    return (a as JsBuffer).view(p.elem);
  }

  dispose(): void {
    this.fns.clear();
  }
}
