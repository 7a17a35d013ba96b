// `tessera conformance`: every backend against the reference, as a report.
import { parseArgs } from 'node:util';
import { DEVICES, isDeviceName } from '../backends/registry.js';
import type { DeviceName } from '../backends/registry.js';
import { CI_SEEDS } from '../conformance/random-models.js';
import { CHECKS, runConformance } from '../conformance/suite.js';
import type { CheckKind, CheckResult } from '../conformance/suite.js';
import { UsageError } from './cli-error.js';
import { oneOf, parsePositiveInt } from './common.js';

export const CONFORMANCE_USAGE = `tessera conformance [--device ${DEVICES.join(',')}] [--model DIR] [--seeds N] [--checks ${CHECKS.join(',')}] [--fp8-activations quant|none] [--threads N] [--json]
  Runs on every backend present (default: all) the per-op cases, N randomized DeepSeek models (every op in
  lockstep with ref, then the logits; default ${CI_SEEDS.length}), and DeepSeek's goldens; with --model DIR also your
  model's logits and greedy tokens on a short prompt (ref is plain TypeScript: slow on large models).
  Prints backend x check (pass/fail, worst deviation, tolerance, time); exits 1 on any failure.`;

function fmt(x: number): string {
  return x === 0 ? '0' : x === Infinity ? 'inf' : x.toExponential(1);
}

function cell(r: CheckResult): { result: string; worst: string; tolerance: string; time: string; where: string } {
  if (r.skipped) return { result: '-', worst: '', tolerance: '', time: '', where: r.skipped };
  const result = `${r.passed === r.total ? 'pass' : 'FAIL'} ${r.passed}/${r.total}`;
  return { result, worst: r.worst ? fmt(r.worst.deviation) : '', tolerance: r.worst ? fmt(r.worst.tolerance) : '', time: `${(r.ms / 1000).toFixed(1)} s`, where: r.worst?.what ?? '' };
}

export function conformanceTable(results: readonly CheckResult[]): string {
  const rows = results.map((r) => ({ backend: r.backend, check: r.check, ...cell(r) }));
  const head = { backend: 'backend', check: 'check', result: 'result', worst: 'worst', tolerance: 'tolerance', time: 'time', where: 'worst case' };
  const cols = ['backend', 'check', 'result', 'worst', 'tolerance', 'time', 'where'] as const;
  const width = Object.fromEntries(cols.map((c) => [c, Math.max(head[c].length, ...rows.map((r) => r[c].length))])) as Record<(typeof cols)[number], number>;
  const line = (r: Record<(typeof cols)[number], string>) => cols.map((c) => r[c].padEnd(width[c])).join('  ').trimEnd();
  const failures = results.flatMap((r) => r.failures.slice(0, 10).map((f) => `  ${r.backend} ${r.check}: ${f}`));
  return [line(head), ...rows.map(line), ...(failures.length ? ['', 'failures:', ...failures] : [])].join('\n') + '\n';
}

export async function conformanceCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      device: { type: 'string' },
      model: { type: 'string' },
      seeds: { type: 'string' },
      checks: { type: 'string' },
      'fp8-activations': { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const devices = (values.device ?? DEVICES.join(',')).split(',').map((d) => d.trim());
  for (const d of devices) if (!isDeviceName(d)) throw new UsageError(`unknown --device "${d}"; available: ${DEVICES.join(', ')}`);
  const n = parsePositiveInt('seeds', values.seeds, CI_SEEDS.length, 0);
  const seeds = values.seeds === undefined ? CI_SEEDS : Array.from({ length: n }, (_, i) => i + 1);
  const threads = values.threads === undefined ? undefined : parsePositiveInt('threads', values.threads, 1);
  if (threads !== undefined && !devices.includes('cpu')) throw new UsageError('--threads applies to --device cpu only');
  const checks = (values.checks ?? CHECKS.join(',')).split(',').map((c) => c.trim());
  for (const c of checks) if (!(CHECKS as readonly string[]).includes(c)) throw new UsageError(`unknown --checks "${c}"; available: ${CHECKS.join(', ')}`);
  if (checks.includes('model') && values.model === undefined && values.checks !== undefined) throw new UsageError('--checks model needs --model DIR');
  const fp8Activations = oneOf('fp8-activations', values['fp8-activations'], ['quant', 'none'] as const, 'quant');
  const progress = (r: CheckResult) => {
    const c = cell(r);
    process.stderr.write(`tessera conformance: ${r.backend} ${r.check}: ${r.skipped ? r.skipped : `${c.result} (${c.time})`}\n`);
  };
  const results = await runConformance({
    devices: devices as DeviceName[],
    seeds,
    ...(values.model !== undefined ? { model: values.model } : {}),
    fp8Activations,
    checks: checks as CheckKind[],
    ...(threads !== undefined ? { threads } : {}),
    progress,
  });
  if (values.json) for (const r of results) out(JSON.stringify(r) + '\n');
  else out(conformanceTable(results));
  const failed = results.filter((r) => !r.skipped && r.passed < r.total);
  if (failed.length > 0) throw new Error(`${failed.length} check${failed.length > 1 ? 's' : ''} failed: ${failed.map((r) => `${r.backend} ${r.check}`).join(', ')}`);
}
