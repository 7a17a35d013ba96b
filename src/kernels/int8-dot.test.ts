import { test } from 'node:test';
import assert from 'node:assert/strict';
import { int8DotKernel } from './int8-dot.js';
import { JsDevice } from '../backends/js/js-device.js';
import { CpuDevice } from '../backends/cpu/cpu-device.js';
import { findCompiler } from '../backends/cpu/c-compiler.js';
import type { Device } from '../backends/device/device.js';

const ROWS = 3;
const WORDS = 37;
const a = Uint32Array.from({ length: ROWS * WORDS }, (_, i) => Math.imul(i + 1, 2654435761) >>> 0);
const b = Uint32Array.from({ length: WORDS }, (_, i) => Math.imul(i + 7, 40503) >>> 0);

function expected(): number[] {
  const s8 = (x: number, i: number) => (x << (24 - 8 * i)) >> 24;
  return Array.from({ length: ROWS }, (_, r) => {
    let sum = 0;
    for (let w = 0; w < WORDS; w++) for (let i = 0; i < 4; i++) sum += s8(a[r * WORDS + w]!, i) * s8(b[w]!, i);
    return sum;
  });
}

test('int8 dot products through the target-intrinsic escape hatch agree on cpu and js', async () => {
  const want = expected();
  for (const device of [new JsDevice(), new CpuDevice(findCompiler()!)] as Device[]) {
    const [ab, bb, out] = [device.alloc(a.byteLength), device.alloc(b.byteLength), device.alloc(ROWS * 4)];
    device.upload(ab, a);
    device.upload(bb, b);
    device.run(int8DotKernel(), { a: ab, b: bb, out, rows: ROWS, words: WORDS });
    assert.deepEqual(Array.from(new Int32Array(await device.download(out, ROWS * 4))), want, device.name);
    device.dispose();
  }
});
