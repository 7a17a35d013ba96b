// Writes safetensors files tensor by tensor (used by tests, tools and the benchmark generator).
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { DTYPE_BYTES } from './dtype.js';
import type { StorageDType } from './dtype.js';

export interface TensorToWrite {
  readonly name: string;
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  /** The bytes, or a function producing them when the writer reaches this tensor. */
  readonly data: Uint8Array | (() => Uint8Array);
}

/** Header JSON as the format defines it, sorted by name, data laid out in the same order. */
export function safetensorsHeader(tensors: readonly TensorToWrite[], metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const bytes = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((json.length + 8) % 8)) % 8); // data starts 8-byte aligned
  const out = Buffer.alloc(8 + Buffer.byteLength(json));
  out.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  out.write(json, 8, 'utf8');
  return out;
}

/**
 * Writes the file tensor by tensor (one tensor's bytes in memory at a time) to a temporary name,
 * renamed into place at the end so a reader never sees a partial file. Returns the file size.
 */
export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): { fileSize: number } {
  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let pos = 0;
  const put = (b: Uint8Array): void => {
    let done = 0;
    while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done, pos + done);
    pos += b.byteLength;
  };
  try {
    put(safetensorsHeader(tensors, metadata));
    for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (data.byteLength !== expected) throw new Error(`${path}: tensor "${t.name}" got ${data.byteLength} bytes, expected ${expected}`);
      put(data);
    }
    closeSync(fd);
    renameSync(tmp, path);
    return { fileSize: pos };
  } catch (e) {
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
    rmSync(tmp, { force: true });
    throw e;
  }
}
