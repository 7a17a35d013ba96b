// Randomized whole-model conformance on every backend: seeded random DeepSeek V2/V3/V3.2 configs
// and batch scenarios, each op in lockstep with `ref` plus the end-to-end logits. CI runs a fixed
// set of seeds; TESSERA_FUZZ_SEEDS=N runs seeds 1..N.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../ops/backend.js';
import { DeviceBackend } from '../backends/device/device-backend.js';
import { JsDevice } from '../backends/js/js-device.js';
import { createCpuBackend } from '../backends/cpu/cpu-backend.js';
import { sharedWebGpu } from '../../test/helpers/webgpu-context.js';
import { CI_SEEDS, describeCase, randomModelCase, runRandomModelCase } from './random-models.js';
import type { ModelCheck } from './model-check.js';

const n = Number(process.env['TESSERA_FUZZ_SEEDS'] ?? 0);
const seeds = n > 0 ? Array.from({ length: n }, (_, i) => i + 1) : CI_SEEDS;

export function summarize(r: ModelCheck): string {
  const ops = r.opFailures.slice(0, 5).map((f) => `  ${f.op} (step ${f.step}, op ${f.index}): ${f.deviation} > ${f.tolerance}${f.detail ? `, ${f.detail}` : ''}`);
  return [`logits ${r.logits.deviation} (tolerance ${r.logits.tolerance}, ${r.logits.detail ?? ''}); greedy ${r.greedy.mismatched} of ${r.greedy.rows} rows differ`, ...ops].join('\n');
}

const gpu = await sharedWebGpu('randomized model conformance');
const backends: Array<[string, () => Backend]> = [
  ['js', () => new DeviceBackend('js', new JsDevice())],
  ['cpu', () => createCpuBackend()],
  ...(gpu ? [['webgpu', () => gpu.backend()] as [string, () => Backend]] : []),
];

for (const seed of seeds) {
  const c = randomModelCase(seed);
  for (const [label, make] of backends) {
    test(`${label} random model, ${describeCase(c)}: every op and the logits match ref`, async () => {
      const r = await runRandomModelCase(c, make);
      assert.ok(r.pass, summarize(r));
      const attention = c.family === 'llama' ? 'gqaAttention' : 'gatherPrefillKeys';
      assert.ok(r.ops.some((o) => o.op === attention && o.calls > 0) && r.ops.length >= 6, `the lockstep checked the ops (${r.ops.map((o) => o.op).join(', ')})`);
    });
  }
}
