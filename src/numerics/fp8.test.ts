import { test } from 'node:test';
import assert from 'node:assert/strict';
import { E4M3_VALUES, actQuant, encodeE4M3, roundE4M3, ue8m0Scale } from './fp8.js';
import { readOp } from '../../test/helpers/fixtures.js';

test('e4m3 decode of all 256 codes matches the reference table bit for bit', () => {
  const ref = readOp('e4m3_code_values');
  for (let c = 0; c < 256; c++) {
    if (Number.isNaN(ref[c]!)) assert.ok(Number.isNaN(E4M3_VALUES[c]!), `code ${c}`);
    else assert.ok(Object.is(E4M3_VALUES[c], ref[c]), `code ${c}: ${E4M3_VALUES[c]} vs ${ref[c]}`);
  }
  assert.equal(E4M3_VALUES[0x7e], 448);
});

test('encodeE4M3 inverts the code table for every finite code', () => {
  for (let c = 0; c < 256; c++) {
    const v = E4M3_VALUES[c]!;
    if (Number.isNaN(v)) continue;
    assert.equal(encodeE4M3(v), c, `code ${c} value ${v}`);
  }
});

test('e4m3 rounding (ties to even, clamp to ±448) matches the reference exactly', () => {
  const input = readOp('e4m3_round_input');
  const expected = readOp('e4m3_round_output');
  for (let i = 0; i < input.length; i++) {
    const got = Math.fround(roundE4M3(input[i]!));
    assert.ok(Object.is(got, expected[i]) || got === expected[i], `x=${input[i]}: ${got} vs ${expected[i]}`);
  }
});

test('ue8m0 scale is the next power of two of amax/448, exactly at powers of two', () => {
  assert.equal(ue8m0Scale(448), 1);
  assert.equal(ue8m0Scale(449), 2);
  assert.equal(ue8m0Scale(0), 2 ** Math.ceil(Math.log2(Math.fround(Math.fround(1e-4) * Math.fround(1 / 448)))));
});

test('activation quantization (ue8m0 and plain scales) matches the reference exactly', () => {
  const x = readOp('act_quant_input');
  for (const fmt of ['ue8m0', 'plain'] as const) {
    const { values, scales } = actQuant(x, 256, fmt);
    const ev = readOp(`act_quant_${fmt}_values`);
    const es = readOp(`act_quant_${fmt}_scales`);
    assert.deepEqual(Array.from(scales), Array.from(es), `${fmt} scales`);
    assert.deepEqual(Array.from(values), Array.from(ev), `${fmt} values`);
  }
});
