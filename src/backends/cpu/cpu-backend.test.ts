import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../../test/helpers/cli.js';
import { fixturePath } from '../../../test/helpers/fixtures.js';
import { runConformanceSuite } from '../../../test/helpers/conformance.js';
import { createCpuBackend } from './cpu-backend.js';
import { availableIsas, detectIsa } from './cpu-isa.js';

const ARGS = ['logits', '--model', fixturePath('v32-tiny-bf16'), '--tokens', '0,126,321,488', '--greedy', '3'];

test('compiled kernels are cached on disk: a second start compiles nothing', () => {
  const cache = mkdtempSync(join(tmpdir(), 'tessera-kcache-'));
  try {
    const env = { TESSERA_CACHE_DIR: cache };
    const first = runCli([...ARGS, '--device', 'cpu'], { env });
    assert.equal(first.code, 0, first.stderr);
    const dir = join(cache, 'kernels');
    const built = readdirSync(dir).filter((f) => f.endsWith('.so'));
    assert.ok(built.length > 10, `${built.length} kernels compiled`);
    const stamps = new Map(built.map((f) => [f, statSync(join(dir, f)).mtimeMs]));
    const second = runCli([...ARGS, '--device', 'cpu'], { env });
    assert.equal(second.code, 0, second.stderr);
    assert.equal(second.stdout, first.stdout, 'same logits');
    const after = readdirSync(dir).filter((f) => f.endsWith('.so'));
    assert.deepEqual(after.sort(), [...stamps.keys()].sort(), 'no new shared objects');
    for (const f of after) assert.equal(statSync(join(dir, f)).mtimeMs, stamps.get(f), `${f} untouched`);
    assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.c')), [], 'no sources left behind');
  } finally {
    rmSync(cache, { recursive: true });
  }
});

test('without a C compiler, --device cpu falls back to js with a one-line warning', () => {
  const withCc = runCli([...ARGS, '--device', 'cpu']);
  const without = runCli([...ARGS, '--device', 'cpu'], { env: { TESSERA_CC: '/nonexistent/cc' } });
  assert.equal(without.code, 0, without.stderr);
  assert.match(without.stderr, /^tessera: no C compiler with OpenMP support found .*falling back to --device js/);
  assert.equal(without.stderr.trim().split('\n').length, 1);
  const a = JSON.parse(withCc.stdout) as { decode_tokens: number[] };
  const b = JSON.parse(without.stdout) as { decode_tokens: number[] };
  assert.deepEqual(b.decode_tokens, a.decode_tokens);
});

// The machine's own level runs the suite in device-conformance.test.ts; every lower level it can
// execute (narrower vectors, no dot instructions) is checked against ref here.
for (const isa of availableIsas().filter((l) => l.level !== detectIsa(undefined).level)) {
  runConformanceSuite(`cpu (${isa.level}, ${isa.target.lanes} lanes)`, () => createCpuBackend(undefined, isa));
}

test('TESSERA_CPU_ISA selects a level the machine runs and rejects one it does not', () => {
  const levels = availableIsas();
  for (const l of levels) assert.equal(detectIsa(l.level).level, l.level);
  assert.deepEqual(detectIsa(undefined).march, ['-march=native']);
  assert.throws(() => detectIsa('avx1024'), /TESSERA_CPU_ISA=avx1024: this CPU runs/);
});
