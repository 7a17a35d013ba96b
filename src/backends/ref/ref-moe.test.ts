import { test } from 'node:test';
import assert from 'node:assert/strict';
import { routeRow, topkIndices } from './ref-moe.js';
import type { RoutingParams } from '../../ops/tensors.js';

test('top-k ties are broken toward the lower index', () => {
  assert.deepEqual(topkIndices([1, 3, 3, 2, 3], 2), [1, 2]);
  assert.deepEqual(topkIndices([0, 0, 0], 3), [0, 1, 2]);
});

const v3: RoutingParams = { topk: 2, nGroup: 2, topkGroup: 1, scoring: 'sigmoid', groupScore: 'top2-sum', normalize: true, scalingFactor: 2.5 };

test('noaux_tc: the bias steers selection only, groups ranked by the sum of their top-2', () => {
  const logits = new Float32Array([2.0, -1, -1, -1, 0.5, 0.4, 0.3, -3]);
  // Group 0 = experts 0..3 (top-2 sum ≈ 0.88 + 0.27), group 1 = 4..7 (0.62 + 0.60): group 1 wins.
  const r = routeRow(logits, null, v3);
  assert.deepEqual(r.experts, [4, 5]);
  const s = (x: number) => 1 / (1 + Math.exp(-x));
  assert.ok(Math.abs(r.weights[0]! - (2.5 * s(0.5)) / (s(0.5) + s(0.4))) < 1e-6);
  // A large bias on expert 7 changes which experts are chosen but not the weights' source (sigmoid scores).
  const bias = new Float32Array([0, 0, 0, 0, 0, 0, 0, 1]);
  const rb = routeRow(logits, bias, v3);
  assert.deepEqual(rb.experts, [4, 7]);
  assert.ok(Math.abs(rb.weights[1]! - (2.5 * s(-3)) / (s(0.5) + s(-3))) < 1e-6);
});

test('V2 softmax routing: greedy or group-limited by max, unnormalized weights times the scaling factor', () => {
  const logits = new Float32Array([1, 3, 0, 2.5]);
  const p: RoutingParams = { topk: 2, nGroup: 1, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: false, scalingFactor: 16 };
  const r = routeRow(logits, null, p);
  assert.deepEqual(r.experts, [1, 3]);
  const z = Math.exp(1) + Math.exp(3) + 1 + Math.exp(2.5);
  assert.ok(Math.abs(r.weights[0]! - (16 * Math.exp(3)) / z) < 1e-5);
  const grouped = routeRow(new Float32Array([3, 2.9, 2.95, 0]), null, { ...p, nGroup: 2, topkGroup: 1 });
  assert.deepEqual(grouped.experts, [0, 1], 'only the best group (by its max) is eligible');
});
