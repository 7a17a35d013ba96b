// WebGPU reports validation and memory errors asynchronously. Every batch of commands runs inside
// error scopes that are popped when it is submitted, so an error surfaces at the next read of a
// result, naming the kernels of the submission it came from.
import { WebGpuError } from './gpu-context.js';

const FILTERS: GPUErrorFilter[] = ['internal', 'out-of-memory', 'validation'];

export class ErrorScopes {
  private isOpen = false;

  constructor(private readonly device: GPUDevice) {}

  open(): void {
    if (this.isOpen) return;
    for (const f of FILTERS) this.device.pushErrorScope(f);
    this.isOpen = true;
  }

  /** Pops the scopes; the promise rejects with the first error they caught. */
  close(kernels: readonly string[]): Promise<void> {
    if (!this.isOpen) return Promise.resolve();
    this.isOpen = false;
    const popped = FILTERS.map(() => this.device.popErrorScope());
    return Promise.all(popped).then((errors) => {
      const e = errors.find((x) => x !== null);
      if (!e) return;
      const where = kernels.length ? ` (in a submission of ${kernels.length} dispatches: ${summarize(kernels)})` : '';
      throw new WebGpuError(`WebGPU error: ${e.message}${where}`);
    });
  }
}

function summarize(kernels: readonly string[]): string {
  const unique = [...new Set(kernels)];
  return unique.length <= 8 ? unique.join(', ') : `${unique.slice(0, 8).join(', ')}, ...`;
}
