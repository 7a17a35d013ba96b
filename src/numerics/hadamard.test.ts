import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hadamardRows } from './hadamard.js';
import { maxAbsDiff, readOp } from '../../test/helpers/fixtures.js';

test('Hadamard rotation matches the reference within float32 rounding', () => {
  const x = readOp('hadamard_input');
  const expected = readOp('hadamard_output');
  hadamardRows(x, 128);
  // float64 butterflies vs the reference's float32 matmul: differences are last-bit rounding only.
  assert.ok(maxAbsDiff(x, expected) < 2e-6, `max diff ${maxAbsDiff(x, expected)}`);
});

test('Hadamard is its own inverse and preserves the norm', () => {
  const x = new Float32Array(256).map((_, i) => Math.sin(i * 1.7));
  const y = x.slice();
  hadamardRows(y, 128);
  let nx = 0;
  let ny = 0;
  for (let i = 0; i < 128; i++) {
    nx += x[i]! ** 2;
    ny += y[i]! ** 2;
  }
  assert.ok(Math.abs(nx - ny) < 1e-4);
  hadamardRows(y, 128);
  assert.ok(maxAbsDiff(x, y) < 1e-6);
});
