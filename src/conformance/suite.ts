// "Same file, same tokens on every backend": the per-op cases, the randomized models, the shipped
// DeepSeek goldens and (optionally) the user's own model, on every backend, against `ref`.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { backendFactory } from '../backends/registry.js';
import type { BackendFactory, DeviceName } from '../backends/registry.js';
import { openHfDirectory } from '../formats/hf-directory.js';
import type { NamedComparison } from './checker.js';
import { GOLDEN_ROOT } from './golden-files.js';
import { goldenCases, runGoldenCase } from './goldens.js';
import { checkModel } from './model-check.js';
import type { ModelCheck } from './model-check.js';
import { OP_CASES, runOpCase } from './op-cases.js';
import { describeCase, randomModelCase, runRandomModelCase } from './random-models.js';
import { picker } from './random.js';

export const CHECKS = ['ops', 'random-models', 'goldens', 'model'] as const;
export type CheckKind = (typeof CHECKS)[number];

export interface CheckResult {
  readonly backend: DeviceName;
  readonly check: CheckKind;
  /** cases that passed, of all cases run */
  readonly passed: number;
  readonly total: number;
  /** the comparison closest to (or furthest past) its tolerance */
  readonly worst: NamedComparison | null;
  readonly ms: number;
  readonly failures: readonly string[];
  /** why the check did not run (backend missing, ref against itself, no goldens installed) */
  readonly skipped?: string;
}

export interface ConformanceOptions {
  readonly devices: readonly DeviceName[];
  readonly seeds: readonly number[];
  /** a Hugging Face directory whose logits every backend must reproduce */
  readonly model?: string;
  readonly fp8Activations?: 'quant' | 'none';
  readonly threads?: number;
  /** the checks to run (default: all; 'model' needs `model`) */
  readonly checks?: readonly CheckKind[];
  /** one line per finished check */
  readonly progress?: (r: CheckResult) => void;
}

function ratio(c: NamedComparison): number {
  return (c.pass ? 0 : 1e300) + (c.tolerance > 0 ? c.deviation / c.tolerance : c.deviation > 0 ? 1e299 : 0);
}

class Tally {
  passed = 0;
  total = 0;
  worst: NamedComparison | null = null;
  readonly failures: string[] = [];
  private readonly t0 = performance.now();

  add(pass: boolean, worst: NamedComparison | null, failures: readonly string[]): void {
    this.total++;
    if (pass) this.passed++;
    if (worst && (!this.worst || ratio(worst) > ratio(this.worst))) this.worst = worst;
    this.failures.push(...failures);
  }
  result(backend: DeviceName, check: CheckKind): CheckResult {
    return { backend, check, passed: this.passed, total: this.total, worst: this.worst, ms: performance.now() - this.t0, failures: this.failures };
  }
}

/** The worst comparison of a model check: its op summaries and its logits. */
function modelWorst(label: string, r: ModelCheck): NamedComparison {
  const cands: NamedComparison[] = [{ what: `${label}: logits`, ...r.logits }];
  for (const o of r.ops) cands.push({ what: `${label}: ${o.op}`, deviation: o.worst, tolerance: o.tolerance, pass: o.failures === 0 });
  return cands.reduce((w, c) => (ratio(c) > ratio(w) ? c : w));
}

function modelFailures(label: string, r: ModelCheck): string[] {
  const out = r.opFailures.slice(0, 3).map((f) => `${label}: ${f.op} (step ${f.step}, op ${f.index}) ${f.deviation} > ${f.tolerance}${f.detail ? `: ${f.detail}` : ''}`);
  if (!r.logits.pass) out.push(`${label}: logits ${r.logits.deviation} > ${r.logits.tolerance} (${r.logits.detail ?? ''})`);
  if (r.greedy.mismatched > 0) out.push(`${label}: greedy tokens differ on ${r.greedy.mismatched} of ${r.greedy.rows} rows`);
  return out;
}

async function opsCheck(f: BackendFactory): Promise<CheckResult> {
  const t = new Tally();
  for (const name of Object.keys(OP_CASES)) {
    const r = await runOpCase(name, () => f.make());
    const worst = r.checks.worst();
    t.add(r.checks.pass, worst && { ...worst, what: `${name}: ${worst.what}` }, r.checks.failures().map((m) => `${name}: ${m}`));
  }
  return t.result(f.device, 'ops');
}

async function randomModelsCheck(f: BackendFactory, seeds: readonly number[]): Promise<CheckResult> {
  const t = new Tally();
  for (const seed of seeds) {
    const c = randomModelCase(seed);
    const r = await runRandomModelCase(c, () => f.make());
    t.add(r.pass, modelWorst(`seed ${seed}`, r), modelFailures(describeCase(c), r));
  }
  return t.result(f.device, 'random-models');
}

async function goldensCheck(f: BackendFactory): Promise<CheckResult> {
  const t = new Tally();
  for (const g of goldenCases()) {
    const check = await runGoldenCase(g, () => f.make());
    const label = `${g.fixture} ${g.name} prompt ${g.prompt}`;
    const worst = check.worst();
    t.add(check.pass, worst && { ...worst, what: `${label}: ${worst.what}` }, check.failures().map((m) => `${label}: ${m}`));
  }
  return t.result(f.device, 'goldens');
}

/** The user's model: a 12-token prompt and 4 teacher-forced decode steps, in lockstep with ref. */
async function userModelCheck(f: BackendFactory, dir: string, fp8Activations: 'quant' | 'none'): Promise<CheckResult> {
  const t = new Tally();
  const d = openHfDirectory(dir);
  const vocab = d.config['vocab_size'];
  d.tensors.close();
  const V = typeof vocab === 'number' && vocab > 0 ? vocab : 2;
  const { int } = picker(12345);
  const ids = (n: number) => Array.from({ length: n }, () => int(0, V - 1));
  const scenario = { sequences: [{ prompt: ids(12), decode: ids(4) }], blockSize: 16, chunks: [12], seed: 1 };
  const r = await checkModel(dir, f.make(), { fp8Activations }, scenario);
  t.add(r.pass, modelWorst('model', r), modelFailures(dir, r));
  return t.result(f.device, 'model');
}

function skipped(backend: DeviceName, check: CheckKind, why: string): CheckResult {
  return { backend, check, passed: 0, total: 0, worst: null, ms: 0, failures: [], skipped: why };
}

export async function runConformance(o: ConformanceOptions): Promise<CheckResult[]> {
  const results: CheckResult[] = [];
  const emit = (r: CheckResult) => {
    results.push(r);
    o.progress?.(r);
  };
  const checks = (o.checks ?? CHECKS).filter((c) => c !== 'model' || o.model !== undefined);
  const haveGoldens = existsSync(join(GOLDEN_ROOT, 'v32-tiny-bf16', 'golden.json'));
  for (const device of o.devices) {
    const f = await backendFactory(device, o.threads === undefined ? {} : { threads: o.threads });
    if ('unavailable' in f) {
      for (const c of checks) emit(skipped(device, c, `not available: ${f.unavailable}`));
      continue;
    }
    try {
      for (const c of checks) {
        if (device === 'ref' && c !== 'goldens') emit(skipped(device, c, 'the reference itself'));
        else if (c === 'ops') emit(await opsCheck(f));
        else if (c === 'random-models') emit(await randomModelsCheck(f, o.seeds));
        else if (c === 'goldens') emit(haveGoldens ? await goldensCheck(f) : skipped(device, c, `no goldens installed at ${GOLDEN_ROOT}`));
        else emit(await userModelCheck(f, o.model!, o.fp8Activations ?? 'quant'));
      }
    } finally {
      f.close();
    }
  }
  return results;
}
