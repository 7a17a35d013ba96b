import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dequantize, quantizeQ8_0 } from './gguf-codec.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from './dtype.js';
import { ggmlType } from './gguf-types.js';

test('f16: every non-NaN bit pattern survives decode -> encode', () => {
  for (let h = 0; h < 65536; h++) {
    const x = f16ToF32(h);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToF16(x), h, `bits 0x${h.toString(16)}`);
  }
});

test('f16: rounding is to nearest even, with overflow and underflow', () => {
  assert.equal(f32ToF16(1 + 2 ** -11), 0x3c00); // halfway between 1 and next: even (1)
  assert.equal(f32ToF16(1 + 3 * 2 ** -11), 0x3c02); // halfway, rounds up to even
  assert.equal(f32ToF16(65520), 0x7c00); // rounds past the largest half: infinity
  assert.equal(f32ToF16(65504), 0x7bff);
  assert.equal(f32ToF16(2 ** -25), 0x0000); // half of the smallest subnormal: even (0)
  assert.equal(f32ToF16(3 * 2 ** -25), 0x0002);
  assert.equal(f32ToF16(-0), 0x8000);
  assert.equal(f32ToF16(NaN) & 0x7e00, 0x7e00);
});

test('bf16: every non-NaN bit pattern survives decode -> encode; rounding to nearest even', () => {
  for (let b = 0; b < 65536; b++) {
    const x = bf16ToF32(b);
    if (Number.isNaN(x)) continue;
    assert.equal(f32ToBf16(x), b);
  }
  assert.equal(f32ToBf16(1 + 2 ** -8), 0x3f80); // halfway: even
  assert.equal(f32ToBf16(1 + 3 * 2 ** -8), 0x3f82);
  assert.ok(Number.isNaN(bf16ToF32(f32ToBf16(NaN))));
});

test('Q8_0: block layout is f16 scale then 32 int8', () => {
  const values = Array.from({ length: 32 }, (_, i) => (i - 16) / 16); // max |x| = 1
  const q = quantizeQ8_0(values);
  assert.equal(q.length, 34);
  assert.equal(q[0]! | (q[1]! << 8), f32ToF16(Math.fround(1 / 127)));
  assert.equal((q[2]! << 24) >> 24, -127); // -1 / d
  const back = dequantize(ggmlType('Q8_0'), q, 32);
  assert.ok(Math.abs(back[0]! + 1) < 1e-3);
  assert.throws(() => dequantize(ggmlType('IQ2_XXS'), new Uint8Array(66), 256), /not supported/);
});
