import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fp8BlockProduct } from './ref-linear.js';
import { indexScore } from './ref-attention.js';
import { maxAbsDiff, readOp } from '../../../test/helpers/fixtures.js';

test('fp8 block-scaled GEMM (partial scale block) matches the reference kernel bit for bit', () => {
  const a = readOp('fp8_gemm_a_values'); // [5, 256]
  const sa = readOp('fp8_gemm_a_scales'); // [5, 2]
  const b = readOp('fp8_gemm_b_values'); // [144, 256]
  const sb = readOp('fp8_gemm_b_scales'); // [2, 2]
  const y = fp8BlockProduct(a, sa, 5, 256, 144, (n, row) => row.set(b.subarray(n * 256, (n + 1) * 256)), sb);
  const expected = readOp('fp8_gemm_output');
  assert.deepEqual(Array.from(y), Array.from(expected));
});

test('fp8 indexer score (ReLU before head weights, key scale after the sum) matches the reference kernel', () => {
  const q = readOp('fp8_index_q_values'); // [1, 3, 4, 128]
  const w = readOp('fp8_index_q_weights'); // [1, 3, 4]
  const k = readOp('fp8_index_k_values'); // [1, 10, 128]
  const ks = readOp('fp8_index_k_scales'); // [1, 10]
  const expected = readOp('fp8_index_output'); // [1, 3, 10]
  const got = new Float32Array(30);
  for (let m = 0; m < 3; m++)
    for (let n = 0; n < 10; n++)
      got[m * 10 + n] = indexScore(q.subarray(m * 512, (m + 1) * 512), w.subarray(m * 4, (m + 1) * 4), k.subarray(n * 128, (n + 1) * 128), ks[n]!);
  const scale = Math.max(...Array.from(expected, Math.abs));
  assert.ok(maxAbsDiff(got, expected) <= 1e-6 * scale, `max diff ${maxAbsDiff(got, expected)} of ${scale}`);
});
