// Render-only checks: every kernel of the catalog rendered for C (compiled with the system
// compiler) and JS (parsed). WGSL is validated by Dawn in render-wgsl.test.ts (its own process).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { kernelCatalog } from '../kernels/catalog.js';
import { CRenderer, cPrelude } from './render-c.js';
import { JsRenderer } from './render-js.js';
import { findCompiler } from '../backends/cpu/c-compiler.js';
import { availableIsas } from '../backends/cpu/cpu-isa.js';

const kernels = kernelCatalog();

test('kernel names are unique identifiers', () => {
  const names = kernels.map((k) => k.name);
  assert.equal(new Set(names).size, names.length);
  for (const n of names) assert.match(n, /^[A-Za-z_][A-Za-z0-9_]*$/);
});

for (const isa of availableIsas()) {
  test(`C (${isa.level}, ${isa.target.lanes} lanes): all ${kernels.length} kernels compile`, () => {
    const cc = findCompiler(isa);
    assert.ok(cc, 'a C compiler with OpenMP is required');
    const dir = mkdtempSync(join(tmpdir(), 'tessera-render-'));
    try {
      const r = new CRenderer(isa.target);
      const src = join(dir, 'all.c');
      writeFileSync(src, cPrelude(isa.target) + kernels.map((k) => r.render(k)).join('\n'));
      const res = spawnSync(cc.path, ['-O1', ...isa.march, '-fopenmp', '-Wall', '-Werror', '-Wno-unused-variable', '-Wno-unused-but-set-variable', '-Wno-unknown-pragmas', '-c', src, '-o', join(dir, 'all.o')], { encoding: 'utf8' });
      assert.equal(res.status, 0, res.stderr);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
}

test(`JS: all ${kernels.length} kernels parse`, () => {
  const r = new JsRenderer();
  for (const k of kernels) assert.doesNotThrow(() => new Function(...k.params.map((p) => p.name), 'rt', r.render(k)), k.name);
});
