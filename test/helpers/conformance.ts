// The op conformance cases (src/conformance/op-cases.ts) as node:test cases for one backend.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Backend } from '../../src/ops/backend.js';
import { OP_CASES, runOpCase } from '../../src/conformance/op-cases.js';

export interface SuiteOptions {
  /** cases not run, each with the reason */
  readonly skip?: Readonly<Record<string, string>>;
  /** run only the cases whose names match (e.g. a backend variant that only changes some kernels) */
  readonly only?: RegExp;
}

/** Registers the conformance suite for a backend factory. */
export function runConformanceSuite(label: string, makeBackend: () => Backend, options: SuiteOptions = {}): void {
  for (const name of Object.keys(OP_CASES)) {
    if (options.only && !options.only.test(name)) continue;
    const reason = options.skip?.[name];
    test(`${label} conformance: ${name}`, reason ? { skip: reason } : {}, async () => {
      const { checks } = await runOpCase(name, makeBackend);
      assert.ok(checks.pass, checks.failures().join('\n'));
    });
  }
}
