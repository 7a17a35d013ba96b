// Profile mode: every dispatch is submitted alone; the time between one submission's completion
// and the previous one's approximates its GPU time (includes the submission overhead).
export class KernelProfiler {
  private readonly totals = new Map<string, { calls: number; ms: number }>();
  private lastDone = 0;

  constructor(private readonly queue: GPUQueue) {}

  submitted(kernel: string): void {
    const t0 = performance.now();
    void this.queue.onSubmittedWorkDone().then(() => {
      const now = performance.now();
      const ms = now - Math.max(t0, this.lastDone);
      this.lastDone = now;
      const e = this.totals.get(kernel) ?? { calls: 0, ms: 0 };
      e.calls++;
      e.ms += ms;
      this.totals.set(kernel, e);
    });
  }

  rows(): Array<{ kernel: string; calls: number; ms: number }> {
    return [...this.totals.entries()].map(([kernel, v]) => ({ kernel, ...v })).sort((a, b) => b.ms - a.ms);
  }
}
