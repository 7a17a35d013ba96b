import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile } from './gguf.js';
import { encodeBf16, encodeF16, encodeF32, quantizeQ8_0 } from './gguf-codec.js';
import { f16ToF32, f32ToF16 } from './dtype.js';
import { gv } from './gguf-types.js';
import type { GgufValue } from './gguf-types.js';
import { writeGguf } from './gguf-writer.js';
import type { GgufTensorSpec } from './gguf-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-gguf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

function seq(n: number, f: (i: number) => number): number[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const metadata: Array<[string, GgufValue]> = [
  ['general.architecture', gv.str('test-arch')],
  ['general.name', gv.str('ünïcødé ✓ model')],
  ['t.u8', gv.u8(255)],
  ['t.i8', gv.i8(-128)],
  ['t.u16', gv.u16(65535)],
  ['t.i16', gv.i16(-32768)],
  ['t.u32', gv.u32(0xffffffff)],
  ['t.i32', gv.i32(-0x80000000)],
  ['t.f32', gv.f32(Math.fround(1e-6))],
  ['t.f64', gv.f64(Math.PI)],
  ['t.u64', gv.u64(0xffffffffffffffffn)],
  ['t.i64', gv.i64(-0x8000000000000000n)],
  ['t.bool', gv.bool(true)],
  ['t.empty', gv.str('')],
  ['t.arr.u8', gv.numbers('u8', [0, 1, 255])],
  ['t.arr.i32', gv.numbers('i32', [-1, 0, 2147483647])],
  ['t.arr.f32', gv.numbers('f32', [0.5, -2.25, Math.fround(0.1)])],
  ['t.arr.f64', gv.numbers('f64', [0.1, 1e300])],
  ['t.arr.u64', gv.bigints('u64', [0n, 1n << 63n])],
  ['t.arr.i64', gv.bigints('i64', [-5n])],
  ['t.arr.bool', gv.bools([true, false, true])],
  ['t.arr.str', gv.strings(['a', '', 'Ġhello', '<｜begin▁of▁sentence｜>', '\uFEFFbom'])],
  ['t.arr.empty', gv.strings([])],
  ['t.arr.nested', gv.arrays([gv.numbers('u16', [1, 2]), gv.strings(['x'])])],
  // A header larger than the writer's initial 64 KiB buffer and the reader's 1 MiB chunk.
  ['t.arr.big', gv.strings(Array.from({ length: 60000 }, (_, i) => `token-${i}-${'x'.repeat(i % 13)}`))],
  ['t.arr.bigf', gv.numbers('f32', seq(70000, (i) => Math.fround(i / 7)))],
];

const f32Vals = seq(15, (i) => Math.fround(i * 0.37 - 2));
const f16Vals = seq(16, (i) => f16ToF32(0x3c00 + i * 97)); // exactly representable halves
const bf16Vals = seq(24, (i) => (i - 12) * 0.5); // exactly representable in bf16
const q8Vals = seq(128, (i) => Math.sin(i) * 0.02);
const bf16x3 = seq(24, (i) => i - 7);
const odd = seq(3, (i) => i + 1); // 6 bytes of F16: forces padding

const tensors: GgufTensorSpec[] = [
  { name: 'a.f32', type: 'F32', shape: [3, 5] },
  { name: 'b.f16', type: 'F16', shape: [2, 8] },
  { name: 'c.bf16', type: 'BF16', shape: [4, 6] },
  { name: 'd.q8_0', type: 'Q8_0', shape: [2, 64] },
  { name: 'e.odd', type: 'F16', shape: [3] },
  { name: 'f.bf16.3d', type: 'BF16', shape: [2, 3, 4] },
];
const bytes: Record<string, Uint8Array> = {
  'a.f32': encodeF32(f32Vals),
  'b.f16': encodeF16(f16Vals),
  'c.bf16': encodeBf16(bf16Vals),
  'd.q8_0': quantizeQ8_0(q8Vals),
  'e.odd': encodeF16(odd),
  'f.bf16.3d': encodeBf16(bf16x3),
};

async function writeSample(path: string, alignment?: number): Promise<void> {
  await writeGguf(path, {
    metadata,
    tensors,
    ...(alignment !== undefined ? { alignment } : {}),
    data: (t, i) => {
      const b = bytes[t.name]!;
      if (i % 3 === 0) return b; // whole
      if (i % 3 === 1) return [b.subarray(0, 4), b.subarray(4)]; // sync chunks
      return (async function* () {
        for (let o = 0; o < b.length; o += 5) yield b.subarray(o, Math.min(b.length, o + 5));
      })();
    },
  });
}

for (const alignment of [undefined, 64]) {
  test(`round trip: metadata and tensor bytes are bit-exact (alignment ${alignment ?? 'default'})`, async () => {
    const path = join(dir, `rt-${alignment ?? 32}.gguf`);
    await writeSample(path, alignment);
    const f = GgufFile.open(path);
    try {
      const al = alignment ?? 32;
      assert.equal(f.version, 3);
      assert.equal(f.alignment, al);
      assert.equal(f.dataOffset % al, 0);
      const expectMeta = new Map(metadata);
      if (alignment !== undefined) expectMeta.set('general.alignment', gv.u32(alignment));
      assert.deepEqual(f.metadata, expectMeta);
      assert.equal(f.architecture, 'test-arch');
      assert.deepEqual(f.names(), tensors.map((t) => t.name));
      let expectedRel = 0;
      for (const spec of tensors) {
        const info = f.info(spec.name);
        assert.deepEqual(info.shape, spec.shape);
        assert.deepEqual(info.ne, [...spec.shape].reverse());
        assert.equal(info.type.name, spec.type);
        assert.equal(info.offset - f.dataOffset, expectedRel, `${spec.name} is where ggml expects it`);
        expectedRel += Math.ceil(info.byteLength / al) * al;
        assert.deepEqual(f.read(spec.name), bytes[spec.name]);
      }
      assert.equal(statSync(path).size, f.dataOffset + expectedRel);
    } finally {
      f.close();
    }
  });
}

test('readF32 decodes F32, F16, BF16 and Q8_0', async () => {
  const path = join(dir, 'decode.gguf');
  await writeSample(path);
  const f = GgufFile.open(path);
  try {
    assert.deepEqual([...f.readF32('a.f32')], f32Vals);
    assert.deepEqual([...f.readF32('b.f16')], f16Vals);
    assert.deepEqual([...f.readF32('c.bf16')], bf16Vals);
    assert.deepEqual([...f.readF32('e.odd')], odd);
    const q = f.readF32('d.q8_0');
    for (let b = 0; b < 4; b++) {
      const block = q8Vals.slice(b * 32, b * 32 + 32);
      // ggml's reference: d = max|x| / 127 in f32, q = roundf(x / d), d stored as f16.
      const d = Math.fround(Math.max(...block.map(Math.abs)) / 127);
      const dh = f16ToF32(f32ToF16(d));
      for (let i = 0; i < 32; i++) {
        const x = Math.fround(block[i]! * Math.fround(1 / d));
        const qi = Math.sign(x) * Math.round(Math.abs(x));
        assert.equal(q[b * 32 + i], Math.fround(dh * qi), `q8_0 element ${b * 32 + i}`);
        // Error bound: half a step plus the f16 rounding of d over up to 127 steps.
        assert.ok(Math.abs(q[b * 32 + i]! - block[i]!) <= d * (0.5 + 127 * 2 ** -11));
      }
    }
    assert.deepEqual([...f.readRowsF32('c.bf16', 1, 2)], bf16Vals.slice(6, 18));
    assert.deepEqual([...f.readRowsF32('d.q8_0', 1, 1)], [...q.slice(64, 128)]);
    assert.deepEqual(f.readRange('a.f32', 8, 4), bytes['a.f32']!.subarray(8, 12));
  } finally {
    f.close();
  }
});

test('metadata accessors check types and name the key', async () => {
  const path = join(dir, 'meta.gguf');
  await writeSample(path);
  const f = GgufFile.open(path);
  try {
    assert.equal(f.metaNumber('t.u32'), 0xffffffff);
    assert.equal(f.metaNumber('t.i8'), -128);
    assert.equal(f.metaString('general.name'), 'ünïcødé ✓ model');
    assert.equal(f.metaBool('t.bool'), true);
    assert.deepEqual(f.metaStrings('t.arr.str'), ['a', '', 'Ġhello', '<｜begin▁of▁sentence｜>', '\uFEFFbom']);
    assert.deepEqual(f.metaNumbers('t.arr.i32'), [-1, 0, 2147483647]);
    assert.throws(() => f.metaNumber('t.u64'), /t\.u64.*does not fit/);
    assert.throws(() => f.metaString('t.u8'), (e: Error) => e.message.includes('"t.u8"') && e.message.includes(path));
    assert.throws(() => f.metaNumber('missing.key'), /missing metadata key/);
  } finally {
    f.close();
  }
});

test('writer leaves no partial file behind when a callback fails', async () => {
  const path = join(dir, 'fail.gguf');
  await assert.rejects(
    writeGguf(path, { metadata: [], tensors: [{ name: 'x', type: 'F32', shape: [4] }], data: () => new Uint8Array(12) }),
    (e: Error & { code?: string }) => e.code === 'writer-misuse' && e.message.includes('"x"') && e.message.includes('16'),
  );
  assert.deepEqual(readdirSync(dir).filter((n) => n.startsWith('fail.gguf')), []);
});
