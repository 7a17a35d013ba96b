import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../test/helpers/cli.js';
import { fixturePath } from '../../test/helpers/fixtures.js';

test('tessera conformance prints backend x check with the worst deviation and its tolerance', () => {
  const r = runCli(['conformance', '--device', 'ref,cpu', '--checks', 'random-models,goldens', '--seeds', '2']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.match(lines[0]!, /^backend\s+check\s+result\s+worst\s+tolerance\s+time\s+worst case$/);
  assert.match(r.stdout, /^ref\s+random-models\s+-\s+the reference itself$/m);
  assert.match(r.stdout, /^ref\s+goldens\s+pass 6\/6\s+\S+\s+2\.0e-4\s+[\d.]+ s\s+v32-tiny/m);
  assert.match(r.stdout, /^cpu\s+random-models\s+pass 2\/2\s+\S+\s+\S+\s+[\d.]+ s\s+seed \d/m);
  assert.match(r.stdout, /^cpu\s+goldens\s+pass 6\/6/m);
  assert.match(r.stderr, /tessera conformance: cpu goldens: pass 6\/6/);
});

test('tessera conformance --model compares a user model on every backend, as JSON lines', () => {
  const r = runCli(['conformance', '--device', 'js,cpu', '--model', fixturePath('v32-tiny-bf16'), '--checks', 'model', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { backend: string; check: string; passed: number; total: number; worst: { deviation: number; tolerance: number } });
  assert.deepEqual(rows.map((x) => `${x.backend} ${x.check} ${x.passed}/${x.total}`), ['js model 1/1', 'cpu model 1/1']);
  for (const x of rows) assert.ok(x.worst.deviation <= x.worst.tolerance);
});

test('tessera conformance rejects unknown devices and checks (exit 2)', () => {
  for (const args of [['--device', 'tpu'], ['--checks', 'speed'], ['--checks', 'model']]) {
    const r = runCli(['conformance', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /unknown --device "tpu"|unknown --checks "speed"|--checks model needs --model DIR/);
  }
});
