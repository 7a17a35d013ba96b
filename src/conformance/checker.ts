// Collects the comparisons of one conformance check (an op case, a model, a golden): each with
// what was compared, the measured deviation and the tolerance written next to it.
import { compareClose, compareExact, compareQuant } from './compare.js';
import type { Comparison } from './compare.js';

export interface NamedComparison extends Comparison {
  readonly what: string;
}

export class Checker {
  readonly results: NamedComparison[] = [];

  add(what: string, c: Comparison): void {
    this.results.push({ what, ...c });
  }
  close(what: string, got: ArrayLike<number>, want: ArrayLike<number>, tolerance: number): void {
    this.add(what, compareClose(got, want, tolerance));
  }
  exact(what: string, got: ArrayLike<number>, want: ArrayLike<number>): void {
    this.add(what, compareExact(got, want));
  }
  quant(what: string, got: { values: Float32Array; scales: Float32Array }, want: { values: Float32Array; scales: Float32Array }): void {
    this.add(what, compareQuant(got, want));
  }
  /** A yes/no fact (deviation 0 or 1). */
  ok(what: string, pass: boolean, detail?: string): void {
    this.add(what, { deviation: pass ? 0 : 1, tolerance: 0, pass, detail });
  }

  get pass(): boolean {
    return this.results.every((r) => r.pass);
  }
  /** The comparison with the largest deviation relative to its tolerance (failures first). */
  worst(): NamedComparison | null {
    const ratio = (r: NamedComparison) => (r.pass ? 0 : 1e300) + (r.tolerance > 0 ? r.deviation / r.tolerance : r.deviation);
    return this.results.reduce<NamedComparison | null>((w, r) => (w === null || ratio(r) > ratio(w) ? r : w), null);
  }
  failures(): string[] {
    return this.results.filter((r) => !r.pass).map((r) => `${r.what}: ${r.deviation} > ${r.tolerance}${r.detail ? ` (${r.detail})` : ''}`);
  }
}
