// `tessera inspect`: what a model directory holds and what it costs to run.
import { parseArgs } from 'node:util';
import { openModel } from '../models/open-model.js';
import type { OpenedModel } from '../models/registry.js';
import type { ModelOptions } from '../models/architecture.js';
import { compactBytesPerToken } from '../ops/kv-cache.js';
import type { KvLayout } from '../ops/kv-cache.js';
import { requireFlag } from './common.js';

export const INSPECT_USAGE = `tessera inspect --model DIR|FILE.gguf [--json]
  Architecture, parameter count, dtypes (GGUF quant types), bytes and KV-cache bytes per token of a model.`;

export interface InspectReport {
  model: string;
  architecture: string;
  format: 'hf' | 'gguf';
  /** the normalized config */
  config: unknown;
  /** unused: stored parameters the forward pass never runs (DeepSeek's multi-token-prediction layers, GGUF rope_freqs) */
  parameters: { total: number; unused: number; activePerToken: number };
  dtypes: Record<string, { tensors: number; bytes: number }>;
  weightBytes: number;
  /** per token, all layers, in the compact layout of the native backends (see compactBytesPerToken) */
  kvBytesPerToken: number;
  kvLayout: KvLayout;
  lines: ReadonlyArray<readonly [string, string]>;
  notes: readonly string[];
}

export function inspectModel(m: OpenedModel, options: ModelOptions = {}): InspectReport {
  m.architecture.check(m.tensors);
  const d = m.architecture.describe(options);
  const dtypes: InspectReport['dtypes'] = {};
  let weightBytes = 0;
  let fileElements = 0;
  for (const t of m.listing()) {
    weightBytes += t.byteLength;
    const entry = (dtypes[t.dtype] ??= { tensors: 0, bytes: 0 });
    entry.tensors++;
    entry.bytes += t.byteLength;
    if (!t.name.endsWith('_scale_inv')) fileElements += t.elements;
  }
  // parameters the forward pass runs: the architecture's own tensors (a tied lm_head is the embedding)
  let total = 0;
  let active = 0;
  for (const e of m.architecture.manifest()) {
    if (!m.tensors.has(e.name)) continue;
    const n = e.shape.reduce((a, b) => a * b, 1);
    const use = d.usePerToken(e.name);
    total += n;
    active += use === 'row' ? n : n * use;
  }
  return {
    model: m.path,
    architecture: m.type,
    format: m.format,
    config: m.architecture.config,
    parameters: { total, unused: Math.max(0, fileElements - total), activePerToken: Math.round(active) },
    dtypes,
    weightBytes,
    kvBytesPerToken: compactBytesPerToken(d.kvLayout),
    kvLayout: d.kvLayout,
    lines: d.lines,
    notes: d.notes,
  };
}

function human(n: number, unit = ''): string {
  const steps = ['', 'K', 'M', 'G', 'T'];
  let i = 0;
  while (Math.abs(n) >= 1000 && i < steps.length - 1) {
    n /= 1000;
    i++;
  }
  return `${Number(n.toFixed(2))}${steps[i]}${unit}`;
}

function kvText(r: InspectReport): string {
  const l = r.kvLayout;
  const what = l.kind === 'gqa' ? `K/V ${l.dtype}` : l.latentFormat === 'fp8' ? 'latent e4m3 + scales, rope key f32, indexer key e4m3' : 'latent f32, rope key f32';
  return `${r.kvBytesPerToken} bytes per token (${what}; ${human(r.kvBytesPerToken * 131072, 'B')} at 128K tokens)`;
}

export function formatReport(r: InspectReport): string {
  const rows: Array<readonly [string, string]> = [
    ['model', r.model],
    ...r.lines,
    ['format', r.format === 'gguf' ? 'GGUF' : 'Hugging Face (config.json + safetensors)'],
    ['parameters', `${human(r.parameters.total)} (${r.parameters.total}), active per token ${human(r.parameters.activePerToken)}` + (r.parameters.unused ? `, plus ${human(r.parameters.unused)} stored but not run` : '')],
    ['weights', `${human(r.weightBytes, 'B')}: ` + Object.entries(r.dtypes).map(([d, v]) => `${d} ${v.tensors} tensors ${human(v.bytes, 'B')}`).join(', ')],
    ['KV cache', kvText(r)],
    ...r.notes.map((n) => ['note', n] as const),
  ];
  return rows.map(([label, text]) => `${label.padEnd(13)} ${text}`).join('\n') + '\n';
}

export async function inspectCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, json: { type: 'boolean' } }, strict: true });
  const m = openModel(requireFlag('model', values.model));
  try {
    const report = inspectModel(m);
    out(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  } finally {
    m.close();
  }
}
