// Writes safetensors files tensor by tensor (used by tests, tools and the benchmark generator).
import { closeSync, openSync, writeSync } from 'node:fs';
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

export function writeSafetensors(path: string, tensors: readonly TensorToWrite[], metadata?: Record<string, string>): void {
  const fd = openSync(path, 'w');
  try {
    writeSync(fd, safetensorsHeader(tensors, metadata));
    for (const t of [...tensors].sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const data = typeof t.data === 'function' ? t.data() : t.data;
      const expected = t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
      if (data.byteLength !== expected) throw new Error(`${t.name}: ${data.byteLength} bytes given, ${expected} expected`);
      let done = 0;
      while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done);
    }
  } finally {
    closeSync(fd);
  }
}
