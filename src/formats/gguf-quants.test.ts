// The GGUF block types without llama.cpp: sizes, the quantizers' blocks decoding back close to
// their input, and the activation conversion of 'ggml' mode (rounding, signs, sums).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QUANT_BLOCKS, QUANT_DTYPES, decodeToF32, f16ToF32, f32ToF16, isQuantDType, tensorByteSize } from './dtype.js';
import { quantize } from './gguf-quantize.js';
import { quantizeActivations, roundHalfEven } from './gguf-act-quant.js';
import { ggmlType } from './gguf-types.js';
import { randomValues } from '../conformance/random.js';

test('block sizes follow ggml and byte sizes need whole blocks', () => {
  for (const d of QUANT_DTYPES) {
    assert.ok(isQuantDType(d));
    assert.deepEqual(QUANT_BLOCKS[d], { elements: ggmlType(d).blockSize, bytes: ggmlType(d).blockBytes });
  }
  assert.equal(tensorByteSize('Q4_K', 4096), 16 * 144);
  assert.equal(tensorByteSize('Q8_0', 64), 68);
  assert.equal(tensorByteSize('BF16', 10), 20);
  assert.throws(() => tensorByteSize('Q6_K', 100), /whole number of blocks/);
  assert.equal(isQuantDType('F16'), false);
});

/** Relative RMS error of quantize -> dequantize on normal values: what each bit width allows. */
const MAX_ERROR: Readonly<Record<(typeof QUANT_DTYPES)[number], number>> = {
  Q8_0: 0.01,
  Q4_0: 0.1,
  Q4_1: 0.1,
  Q5_0: 0.05,
  Q5_1: 0.05,
  Q2_K: 0.4,
  Q3_K: 0.22,
  Q4_K: 0.1,
  Q5_K: 0.05,
  Q6_K: 0.03,
};

test('the quantizers write blocks that decode close to their input (and zeros to zeros)', () => {
  const x = randomValues(3, 256 * 16, 1);
  for (const d of QUANT_DTYPES) {
    const q = quantize(d, x);
    assert.equal(q.byteLength, tensorByteSize(d, x.length), d);
    const y = decodeToF32(q, d);
    let err = 0;
    let ref = 0;
    for (let i = 0; i < x.length; i++) {
      err += (x[i]! - y[i]!) ** 2;
      ref += x[i]! ** 2;
    }
    assert.ok(Math.sqrt(err / ref) < MAX_ERROR[d], `${d}: relative error ${Math.sqrt(err / ref)}`);
    assert.ok(decodeToF32(quantize(d, new Float32Array(256)), d).every((v) => v === 0), `${d}: zeros`);
  }
  assert.throws(() => quantize('Q4_K', new Float32Array(100)), /multiple of 256/);
});

test('round half to even', () => {
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, -2.6].map(roundHalfEven), [0, 2, 2, -0, -2, -2, 2, -3]);
});

test('Q8_0 / Q8_1 activations: d = fp16(amax / 127), q = round-half-even(x · 127 / amax), s = fp16(d · Σq)', () => {
  const x = new Float32Array(64);
  x[0] = 127; // amax: 127 / amax = 1, so x · 1 sits on ties below
  x[1] = 0.5; // -> 0 (roundf, the _ref path, would give 1)
  x[2] = -1.5; // -> -2
  x[3] = 2.5; // -> 2
  x[4] = -3.7;
  const q = quantizeActivations(x, 'Q8_1');
  assert.deepEqual(Array.from(q.values.subarray(0, 5)), [127, 0, -2, 2, -4]);
  const d = 1;
  assert.equal(q.scales[0], d);
  const sum = q.values.subarray(0, 32).reduce((a, b) => a + b, 0);
  assert.equal(q.sums![0], f16ToF32(f32ToF16(Math.fround(d * sum))));
  // an all-zero block
  assert.equal(q.scales[1], 0);
  assert.ok(q.values.subarray(32).every((v) => v === 0));
  assert.equal(quantizeActivations(x, 'Q8_0').sums, null);
});

test('Q8_K activations: the scale follows the first value of largest magnitude, q ≤ 127', () => {
  const x = randomValues(9, 512, 1);
  x[10] = -4; // largest |x| of block 0, negative: iscale = 127 / 4
  x[300] = 4;
  x[301] = -4; // a tie in block 1: the first (+4) wins, iscale = -127 / 4
  const q = quantizeActivations(x, 'Q8_K');
  assert.equal(q.values[10], -127);
  assert.equal(q.scales[0], Math.fround(1 / Math.fround(127 / 4)));
  assert.equal(q.values[300], -127);
  assert.equal(q.values[301], 127);
  assert.equal(q.scales[1], Math.fround(1 / Math.fround(-127 / 4)));
  for (let i = 0; i < 512; i++) assert.ok(Math.abs(x[i]! - q.values[i]! * q.scales[i >> 8]!) <= Math.abs(q.scales[i >> 8]!) / 2 + 1e-6);
});
