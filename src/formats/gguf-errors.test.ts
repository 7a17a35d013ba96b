// Bad-input cases of the GGUF reader and writer: each must fail with a typed GgufError whose
// message names the file and, where there is one, the tensor or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufError, GgufFile } from './gguf.js';
import type { GgufErrorCode } from './gguf.js';
import { writeGguf } from './gguf-writer.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-gguf-bad-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

interface RawKv { key: string; type: number; value: Buffer }
interface RawTensor { name: string; ne: number[]; type: number; offset: number }

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([len, b]);
}
function u32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
}
function u64(v: number | bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
}

/** A GGUF file built by hand, independent of the writer, so that any field can be made wrong. */
function rawGguf(o: { magic?: string; version?: number; kv?: RawKv[]; tensors?: RawTensor[]; dataBytes?: number; alignment?: number }): Buffer {
  const kv = o.kv ?? [];
  const tensors = o.tensors ?? [];
  const parts: Buffer[] = [
    Buffer.from(o.magic ?? 'GGUF', 'latin1'),
    u32(o.version ?? 3),
    u64(tensors.length),
    u64(kv.length),
  ];
  for (const k of kv) parts.push(str(k.key), u32(k.type), k.value);
  for (const t of tensors) {
    parts.push(str(t.name), u32(t.ne.length), ...t.ne.map(u64), u32(t.type), u64(t.offset));
  }
  const head = Buffer.concat(parts);
  const al = o.alignment ?? 32;
  const pad = Buffer.alloc(Math.ceil(head.length / al) * al - head.length);
  return Buffer.concat([head, pad, Buffer.alloc(o.dataBytes ?? 0, 0x11)]);
}

const F32 = 0;
const Q8_0 = 8;
const IQ2_XXS = 16; // a type Tessera does not decode
const goodTensors: RawTensor[] = [
  { name: 'w.first', ne: [8], type: F32, offset: 0 }, // 32 bytes
  { name: 'w.second', ne: [4, 4], type: F32, offset: 32 }, // 64 bytes
];

function fileOf(name: string, content: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, content);
  return p;
}

function expectError(path: string, code: GgufErrorCode, mention: string | undefined, pattern?: RegExp): void {
  assert.throws(
    () => GgufFile.open(path).close(),
    (e: unknown) => {
      assert.ok(e instanceof GgufError, `expected GgufError, got ${String(e)}`);
      assert.equal(e.code, code, e.message);
      assert.ok(e.message.startsWith(path), `message names the file: ${e.message}`);
      if (mention !== undefined) assert.ok(e.message.includes(`"${mention}"`), `message names ${mention}: ${e.message}`);
      if (pattern) assert.match(e.message, pattern);
      return true;
    },
  );
}

test('a well-formed hand-built file opens (the baseline the other cases break)', () => {
  const p = fileOf('good.gguf', rawGguf({ tensors: goodTensors, dataBytes: 96 }));
  const f = GgufFile.open(p);
  assert.equal(f.info('w.second').byteLength, 64);
  f.close();
});

test('missing file: io', () => expectError(join(dir, 'nope.gguf'), 'io', undefined, /cannot open/));

test('empty and short files: truncated', () => {
  expectError(fileOf('empty.gguf', Buffer.alloc(0)), 'truncated', undefined, /too short/);
  expectError(fileOf('short.gguf', rawGguf({}).subarray(0, 10)), 'truncated', undefined);
});

test('bad magic', () => {
  expectError(fileOf('magic.gguf', rawGguf({ magic: 'GGML' })), 'bad-magic', undefined, /"GGML"/);
});

test('unsupported versions', () => {
  expectError(fileOf('v1.gguf', rawGguf({ version: 1 })), 'unsupported-version', undefined, /version 1/);
  expectError(fileOf('v4.gguf', rawGguf({ version: 4 })), 'unsupported-version', undefined, /version 4/);
  expectError(fileOf('be.gguf', rawGguf({ version: 0x03000000 })), 'unsupported-version', undefined, /big-endian/);
});

test('truncated inside the metadata', () => {
  const full = rawGguf({ kv: [{ key: 'general.name', type: 8, value: str('a fairly long model name') }] });
  expectError(fileOf('trunc-key.gguf', full.subarray(0, 40)), 'truncated', undefined, /key 0 claims 12 bytes but only 8 remain/);
  expectError(fileOf('trunc-type.gguf', full.subarray(0, 46)), 'truncated', 'general.name', /file ends at byte 46/);
  expectError(fileOf('trunc-value.gguf', full.subarray(0, 60)), 'truncated', 'general.name', /claims 24 bytes but only 4 remain/);
});

test('truncated tensor data names the tensor', () => {
  const p = fileOf('trunc-data.gguf', rawGguf({ tensors: goodTensors, dataBytes: 96 }));
  truncateSync(p, GgufFile.open(fileOf('tmp.gguf', rawGguf({ tensors: goodTensors, dataBytes: 96 }))).dataOffset + 50);
  expectError(p, 'truncated', 'w.second', /beyond the end of the file.*truncated/);
});

test('offset out of range and misaligned offset name the tensor', () => {
  const far: RawTensor[] = [goodTensors[0]!, { ...goodTensors[1]!, offset: 1 << 20 }];
  expectError(fileOf('far.gguf', rawGguf({ tensors: far, dataBytes: 96 })), 'offset-out-of-range', 'w.second', /beyond the end/);
  const misaligned: RawTensor[] = [goodTensors[0]!, { ...goodTensors[1]!, offset: 36 }];
  expectError(fileOf('misaligned.gguf', rawGguf({ tensors: misaligned, dataBytes: 128 })), 'offset-out-of-range', 'w.second', /not a multiple of the alignment 32/);
  const overlap: RawTensor[] = [goodTensors[0]!, { ...goodTensors[1]!, offset: 0 }];
  expectError(fileOf('overlap.gguf', rawGguf({ tensors: overlap, dataBytes: 96 })), 'offset-out-of-range', 'w.first', /overlaps/);
});

test('unknown ggml type names the tensor', () => {
  const t: RawTensor[] = [{ name: 'w.weird', ne: [8], type: 99, offset: 0 }];
  expectError(fileOf('type.gguf', rawGguf({ tensors: t, dataBytes: 32 })), 'unknown-ggml-type', 'w.weird', /id 99/);
});

test('bad tensor infos: block multiple, rank, duplicate and long names', () => {
  const q = [{ name: 'w.q8', ne: [16, 2], type: Q8_0, offset: 0 }];
  expectError(fileOf('block.gguf', rawGguf({ tensors: q, dataBytes: 64 })), 'bad-tensor-info', 'w.q8', /multiple of the block size 32/);
  const rank = [{ name: 'w.5d', ne: [1, 1, 1, 1, 1], type: F32, offset: 0 }];
  expectError(fileOf('rank.gguf', rawGguf({ tensors: rank, dataBytes: 32 })), 'bad-tensor-info', 'w.5d', /5 dimensions/);
  const dup = [goodTensors[0]!, { ...goodTensors[0]!, offset: 32 }];
  expectError(fileOf('dup.gguf', rawGguf({ tensors: dup, dataBytes: 64 })), 'bad-tensor-info', 'w.first', /duplicate/);
  const long = [{ name: 'x'.repeat(64), ne: [8], type: F32, offset: 0 }];
  expectError(fileOf('long.gguf', rawGguf({ tensors: long, dataBytes: 32 })), 'bad-tensor-info', 'x'.repeat(64), /at most 63/);
});

test('bad metadata: unknown value type, duplicate key, bad bool, bad alignment', () => {
  expectError(fileOf('vt.gguf', rawGguf({ kv: [{ key: 'k.odd', type: 42, value: Buffer.alloc(4) }] })), 'bad-value', 'k.odd', /value type 42/);
  const one = { key: 'k.dup', type: 4, value: u32(1) };
  expectError(fileOf('dupkey.gguf', rawGguf({ kv: [one, one] })), 'bad-value', 'k.dup', /duplicate/);
  expectError(fileOf('bool.gguf', rawGguf({ kv: [{ key: 'k.b', type: 7, value: Buffer.from([2]) }] })), 'bad-value', 'k.b', /bool/);
  const al3 = [{ key: 'general.alignment', type: 4, value: u32(3) }];
  expectError(fileOf('al3.gguf', rawGguf({ kv: al3, alignment: 1 })), 'bad-alignment', 'general.alignment', /power of two/);
  const al64 = [{ key: 'general.alignment', type: 10, value: u64(64) }];
  expectError(fileOf('alu64.gguf', rawGguf({ kv: al64 })), 'bad-alignment', 'general.alignment', /must be a u32/);
  const hugeArr = [{ key: 'k.arr', type: 9, value: Buffer.concat([u32(4), u64(1e12)]) }];
  expectError(fileOf('arr.gguf', rawGguf({ kv: hugeArr })), 'truncated', 'k.arr', /does not fit/);
  const hugeStr = [{ key: 'k.s', type: 8, value: u64(1e12) }];
  expectError(fileOf('str.gguf', rawGguf({ kv: hugeStr })), 'truncated', undefined, /claims 1000000000000 bytes/);
});

test('tensor lookups and unsupported decoding name the tensor', () => {
  const t = [{ name: 'w.iq2', ne: [256], type: IQ2_XXS, offset: 0 }];
  const f = GgufFile.open(fileOf('iq2.gguf', rawGguf({ tensors: t, dataBytes: 160 })));
  try {
    assert.equal(f.info('w.iq2').byteLength, 66);
    assert.deepEqual(f.read('w.iq2').length, 66);
    assert.throws(() => f.readF32('w.iq2'), (e: unknown) => e instanceof GgufError && e.code === 'unsupported-type' && e.message.includes('"w.iq2"'));
    assert.throws(() => f.info('w.none'), (e: unknown) => e instanceof GgufError && e.code === 'tensor-not-found' && e.message.includes('"w.none"'));
    assert.throws(() => f.readRange('w.iq2', 100, 100), (e: unknown) => e instanceof GgufError && e.code === 'offset-out-of-range');
  } finally {
    f.close();
  }
});

test('writer refuses inconsistent tensors and metadata', async () => {
  const p = join(dir, 'w.gguf');
  const misuse = (code: GgufErrorCode, what: RegExp) => (e: unknown) => e instanceof GgufError && e.code === code && what.test(e.message);
  await assert.rejects(writeGguf(p, { metadata: [], tensors: [{ name: 'q', type: 'Q8_0', shape: [2, 16] }], data: () => new Uint8Array(0) }), misuse('writer-misuse', /"q".*block size 32/));
  await assert.rejects(writeGguf(p, { metadata: [], tensors: [{ name: 'a', type: 'F32', shape: [1] }, { name: 'a', type: 'F32', shape: [1] }], data: () => new Uint8Array(4) }), misuse('writer-misuse', /duplicate/));
  await assert.rejects(writeGguf(p, { metadata: [['k', { type: 'u8', value: 300 }]], tensors: [], data: () => new Uint8Array(0) }), misuse('writer-misuse', /"k".*300/));
  await assert.rejects(writeGguf(p, { metadata: [], tensors: [], alignment: 48, data: () => new Uint8Array(0) }), misuse('bad-alignment', /48/));
  await assert.rejects(writeGguf(p, { metadata: [], tensors: [{ name: 'big', type: 'F32', shape: [2] }], data: () => [new Uint8Array(8), new Uint8Array(4)] }), misuse('writer-misuse', /more than the 8 bytes/));
});
