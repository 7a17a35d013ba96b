import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attentionScale, ropeFrequencies, ropeTable } from './rope.js';
import type { YarnParams } from './rope.js';
import { maxAbsDiff, readOp } from '../../test/helpers/fixtures.js';

const yarn: YarnParams = {
  factor: 40,
  originalMaxPositionEmbeddings: 4096,
  betaFast: 32,
  betaSlow: 1,
  mscale: 1,
  mscaleAllDim: 1,
};

for (const dim of [16, 32]) {
  test(`YaRN tables for rotary dim ${dim} match the reference`, () => {
    const freqs = ropeFrequencies({ theta: 10000, dim, yarn });
    assert.deepEqual(Array.from(freqs), Array.from(readOp(`yarn_inv_freq_d${dim}`)), 'inverse frequencies bit-exact');
    const positions = Array.from({ length: 256 }, (_, i) => i);
    const { cos, sin } = ropeTable(positions, freqs);
    // cos/sin of the same float32 angle: the reference's float32 libm vs float64 rounded, ≤ 1 ulp.
    assert.ok(maxAbsDiff(cos, readOp(`yarn_cos_d${dim}`)) < 1.2e-7);
    assert.ok(maxAbsDiff(sin, readOp(`yarn_sin_d${dim}`)) < 1.2e-7);
  });
}

test('MLA softmax scale under YaRN is 192^-0.5 * (0.1 ln 40 + 1)^2', () => {
  assert.ok(Math.abs(attentionScale(192, yarn) - 0.135234) < 1e-6);
  assert.equal(attentionScale(192, null), 192 ** -0.5);
});
