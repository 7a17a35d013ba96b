// The conformance machinery must fail when a backend is wrong: planted bugs in a backend are
// caught by the lockstep check of the op they sit in, and by the end-to-end logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KvCache } from '../ops/kv-cache.js';
import type { Step } from '../ops/step.js';
import type { Tensor } from '../ops/tensors.js';
import { DeviceBackend } from '../backends/device/device-backend.js';
import { JsDevice } from '../backends/js/js-device.js';
import { randomModelCase, runRandomModelCase } from './random-models.js';

/** A js backend with one deliberate bug. */
class Mutant extends DeviceBackend {
  constructor(private readonly bug: 'silu-scale' | 'latent-slot' | 'rope-offset') {
    super('mutant', new JsDevice());
  }
  override siluMul(gate: Tensor, up: Tensor): Tensor {
    const y = super.siluMul(gate, up);
    return this.bug === 'silu-scale' ? super.add(y, super.rows(y, 0, y.shape[0]!)) : y; // 2x: a wrong constant
  }
  override writeLatentCache(cache: KvCache, layer: number, latent: Tensor, kpe: Tensor, step: Step): void {
    // writes each row's latent one row early (an off-by-one in the slot of every row but the first)
    if (this.bug === 'latent-slot' && latent.shape[0]! > 1) {
      const n = latent.shape[0]!;
      super.writeLatentCache(cache, layer, super.concatRows([super.rows(latent, 1, n - 1), super.rows(latent, n - 1, 1)]), kpe, step);
    } else super.writeLatentCache(cache, layer, latent, kpe, step);
  }
  override rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset = 0): Tensor {
    return super.rope(x, groups, start, ropeDim, layout, step, this.bug === 'rope-offset' && x.shape[0]! > 1 ? rowOffset + 1 : rowOffset);
  }
}

// a V3.2 case with multi-row prefill slices (seed 1: three sequences of 9, 1 and 5 prompt tokens)
const c = randomModelCase(1);

test('the random model case the mutants run on prefills several rows', () => {
  assert.equal(c.config['model_type'], 'deepseek_v32');
  assert.ok(c.scenario.sequences.some((s) => s.prompt.length > 4));
});

test('an unmodified js backend passes the case', async () => {
  const r = await runRandomModelCase(c, () => new DeviceBackend('js', new JsDevice()));
  assert.ok(r.pass, JSON.stringify(r.opFailures.slice(0, 3)));
});

for (const [bug, op] of [
  ['silu-scale', 'siluMul'],
  ['latent-slot', 'gatherPrefillKeys'],
  ['rope-offset', 'rope interleaved'],
] as const) {
  test(`a planted bug (${bug}) fails the lockstep check of ${op} and the logits`, async () => {
    const r = await runRandomModelCase(c, () => new Mutant(bug));
    assert.equal(r.pass, false);
    assert.ok(r.opFailures.some((f) => f.op === op), `failures: ${[...new Set(r.opFailures.map((f) => f.op))].join(', ')}`);
    assert.equal(r.logits.pass, false, `logits deviation ${r.logits.deviation}`);
  });
}
