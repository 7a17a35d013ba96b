// Short-lived GPU buffers (concatenated bindings of one dispatch), recycled once the commands
// that use them are submitted: later commands and copies are ordered after them on the queue.
import type { CommandBatch } from './command-batch.js';

export class TransientPool {
  private readonly free = new Map<number, GPUBuffer[]>();
  private readonly all = new Set<GPUBuffer>();

  constructor(
    private readonly device: GPUDevice,
    private readonly usage: number,
  ) {}

  /** A buffer of at least `bytes` bytes for the commands of `batch`. */
  take(bytes: number, batch: CommandBatch): GPUBuffer {
    const size = Math.max(256, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    const list = this.free.get(size) ?? [];
    let buf = list.pop();
    if (!buf) {
      buf = this.device.createBuffer({ label: 'tessera transient', size, usage: this.usage });
      this.all.add(buf);
    }
    const taken = buf;
    batch.onSubmit(() => {
      const l = this.free.get(size) ?? [];
      l.push(taken);
      this.free.set(size, l);
    });
    return taken;
  }

  owns(buf: GPUBuffer): boolean {
    return this.all.has(buf);
  }

  destroy(): void {
    for (const b of this.all) b.destroy();
    this.all.clear();
    this.free.clear();
  }
}
