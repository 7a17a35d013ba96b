import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SafetensorsFile } from './safetensors.js';
import { writeSafetensors } from './safetensors-writer.js';
import { ModelFormatError } from './errors.js';
import { decodeToF32 } from './dtype.js';

function tmp(): string {
  return mkdtempSync(join(tmpdir(), 'tessera-st-'));
}

function rawFile(path: string, header: unknown, dataBytes: number): void {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

function expectError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof ModelFormatError, `expected ModelFormatError, got ${String(e)}`);
    assert.match(e.message, pattern);
    return true;
  });
}

test('round trip: tensors are read back by byte range, bit-exact', () => {
  const dir = tmp();
  try {
    const f32 = new Float32Array([1.5, -2, 3.25, 0]);
    const bf16 = new Uint16Array([0x3f80, 0xc000]);
    const path = join(dir, 'm.safetensors');
    writeSafetensors(path, [
      { name: 'b', dtype: 'BF16', shape: [2], data: new Uint8Array(bf16.buffer) },
      { name: 'a', dtype: 'F32', shape: [2, 2], data: new Uint8Array(f32.buffer) },
    ]);
    const f = SafetensorsFile.open(path);
    assert.deepEqual(f.info('a').shape, [2, 2]);
    assert.deepEqual(Array.from(decodeToF32(f.read('a'), 'F32')), [1.5, -2, 3.25, 0]);
    assert.deepEqual(Array.from(decodeToF32(f.read('b'), 'BF16')), [1, -2]);
    assert.equal(f.metadata['format'], 'pt');
    f.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test('bad safetensors files each give one clear error naming the file and tensor', () => {
  const dir = tmp();
  try {
    const p = join(dir, 'bad.safetensors');
    const good = { w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } };

    writeFileSync(p, Buffer.from([1, 2, 3]));
    expectError(() => SafetensorsFile.open(p), /bad\.safetensors: file is truncated/);

    rawFile(p, good, 8);
    const whole = readFileSync(p);
    writeFileSync(p, whole.subarray(0, 20));
    expectError(() => SafetensorsFile.open(p), /header length \d+ goes beyond the end of the file/);

    rawFile(p, good, 8);
    truncateSync(p, readFileSync(p).length - 4);
    expectError(() => SafetensorsFile.open(p), /tensor "w": data_offsets \[0, 8\] go beyond the data section/);

    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(5n);
    writeFileSync(p, Buffer.concat([len, Buffer.from('{oops')]));
    expectError(() => SafetensorsFile.open(p), /header is not valid JSON/);

    rawFile(p, { w: { dtype: 'F4', shape: [2], data_offsets: [0, 1] } }, 8);
    expectError(() => SafetensorsFile.open(p), /tensor "w": unknown dtype "F4"/);

    rawFile(p, { w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, 12);
    expectError(() => SafetensorsFile.open(p), /tensor "w": data_offsets \[0, 8\] hold 8 bytes but F32 \[3\] needs 12/);

    rawFile(p, { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12);
    expectError(() => SafetensorsFile.open(p), /tensor "b": data overlaps tensor "a"/);

    rawFile(p, { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 8] } }, 8);
    expectError(() => SafetensorsFile.open(p), /tensor "w": "shape" must be an array of non-negative integers/);

    rawFile(p, good, 8);
    const f = SafetensorsFile.open(p);
    expectError(() => f.read('missing'), /tensor "missing": tensor not found/);
    f.close();
  } finally {
    rmSync(dir, { recursive: true });
  }
});
