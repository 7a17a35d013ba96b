// The DeepSeek fixture goldens (src/conformance/goldens.ts) as node:test cases for one backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/ops/backend.js';
import { goldenCases, runGoldenCase } from '../../src/conformance/goldens.js';

export function runGoldenSuite(label: string, makeBackend: () => Backend): void {
  for (const g of goldenCases()) {
    test(`${label}: ${g.fixture} ${g.name} prompt ${g.prompt} matches DeepSeek's reference`, async () => {
      const check = await runGoldenCase(g, makeBackend);
      assert.ok(check.pass, check.failures().join('\n'));
    });
  }
}
