// Everything encoded since the last submission: one command encoder, one compute pass that is
// only interrupted by buffer copies, and the uniform blocks of its dispatches staged on the host
// and written with one writeBuffer just before the submit (queue writes are ordered before the
// commands submitted after them, and after those submitted before).
import { BUFFER_USAGE, WebGpuError } from './gpu-context.js';

/** Dispatches per submission before one is forced (each takes one aligned uniform slot). */
const MAX_DISPATCHES = 4096;

export class CommandBatch {
  readonly uniformBuffer: GPUBuffer;
  private readonly staging: ArrayBuffer;
  private readonly view: DataView;
  private readonly slot: number;
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private used = 0;
  private readonly referenced = new Set<GPUBuffer>();
  private readonly afterSubmit: Array<() => void> = [];
  /** kernel names of the dispatches, for error messages */
  private kernels: string[] = [];

  constructor(
    private readonly device: GPUDevice,
    uniformAlignment: number,
    maxUniformBytes: number,
  ) {
    this.slot = Math.max(uniformAlignment, Math.ceil(maxUniformBytes / uniformAlignment) * uniformAlignment);
    const size = this.slot * MAX_DISPATCHES;
    this.uniformBuffer = device.createBuffer({ label: 'tessera uniforms', size, usage: BUFFER_USAGE.UNIFORM | BUFFER_USAGE.COPY_DST });
    this.staging = new ArrayBuffer(size);
    this.view = new DataView(this.staging);
  }

  get pending(): boolean {
    return this.encoder !== null;
  }

  get dispatches(): number {
    return this.kernels.length;
  }

  /** Whether encoded, unsubmitted commands use `buf` (a queue write to it must wait for a submit). */
  references(buf: GPUBuffer): boolean {
    return this.referenced.has(buf);
  }

  /** Room for one more dispatch? */
  get full(): boolean {
    return this.used + this.slot > this.staging.byteLength;
  }

  /** The next uniform slot: its byte offset and a view to fill. */
  uniformSlot(): { offset: number; view: DataView } {
    if (this.full) throw new WebGpuError('uniform staging is full (submit first)');
    const offset = this.used;
    this.used += this.slot;
    new Uint8Array(this.staging, offset, this.slot).fill(0);
    return { offset, view: this.view };
  }

  private enc(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder({ label: 'tessera step' });
    return this.encoder;
  }

  copy(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, size: number): void {
    this.endPass();
    this.enc().copyBufferToBuffer(src, srcOffset, dst, dstOffset, size);
    this.referenced.add(src).add(dst);
  }

  dispatch(kernel: string, pipeline: GPUComputePipeline, group: GPUBindGroup, uniformOffset: number, x: number, y: number, buffers: readonly GPUBuffer[]): void {
    this.pass ??= this.enc().beginComputePass({ label: 'tessera kernels' });
    this.pass.setPipeline(pipeline);
    this.pass.setBindGroup(0, group, [uniformOffset]);
    this.pass.dispatchWorkgroups(x, y);
    for (const b of buffers) this.referenced.add(b);
    this.kernels.push(kernel);
  }

  /** Run `fn` once the current commands are submitted (e.g. recycle their transient buffers). */
  onSubmit(fn: () => void): void {
    this.afterSubmit.push(fn);
  }

  private endPass(): void {
    this.pass?.end();
    this.pass = null;
  }

  /** Submits the commands; returns the kernel names they held. */
  submit(queue: GPUQueue): string[] {
    const kernels = this.kernels;
    if (this.encoder) {
      this.endPass();
      if (this.used) queue.writeBuffer(this.uniformBuffer, 0, this.staging, 0, this.used);
      queue.submit([this.encoder.finish()]);
    }
    this.encoder = null;
    this.used = 0;
    this.kernels = [];
    this.referenced.clear();
    for (const fn of this.afterSubmit.splice(0)) fn();
    return kernels;
  }

  destroy(): void {
    this.endPass();
    this.encoder = null;
    this.uniformBuffer.destroy();
  }
}
