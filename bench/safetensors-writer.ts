// Minimal streaming safetensors writer: u64 little-endian header length, JSON header
// {"__metadata__": {...}, name: {dtype, shape, data_offsets: [begin, end]}} padded with spaces to a
// multiple of 8 bytes, then the tensors' raw bytes in sorted-name order (as the Python library
// writes them). Only one tensor is in memory at a time.
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface SafetensorsSpec {
  readonly name: string;
  readonly dtype: 'BF16' | 'F16' | 'F32';
  readonly shape: readonly number[];
}

const DTYPE_BYTES = { BF16: 2, F16: 2, F32: 4 } as const;

function byteSize(t: SafetensorsSpec): number {
  return t.shape.reduce((a, b) => a * b, 1) * DTYPE_BYTES[t.dtype];
}

export function writeSafetensors(
  path: string,
  tensors: readonly SafetensorsSpec[],
  data: (t: SafetensorsSpec) => Uint8Array,
  metadata: Readonly<Record<string, string>> = { format: 'pt' },
): { fileSize: number; headerBytes: number } {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const t of sorted) {
    const size = byteSize(t);
    header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + size] };
    offset += size;
  }
  let json = JSON.stringify(header);
  const jsonBytes = Buffer.byteLength(json);
  json += ' '.repeat((8 - ((8 + jsonBytes) % 8)) % 8);
  const head = Buffer.alloc(8 + Buffer.byteLength(json));
  head.writeBigUInt64LE(BigInt(Buffer.byteLength(json)), 0);
  head.write(json, 8, 'utf8');

  const tmp = `${path}.partial-${process.pid}`;
  const fd = openSync(tmp, 'w');
  let open = true;
  try {
    let pos = 0;
    const put = (b: Uint8Array): void => {
      let done = 0;
      while (done < b.byteLength) done += writeSync(fd, b, done, b.byteLength - done, pos + done);
      pos += b.byteLength;
    };
    put(head);
    for (const t of sorted) {
      const b = data(t);
      if (b.byteLength !== byteSize(t)) {
        throw new Error(`${path}: tensor "${t.name}" got ${b.byteLength} bytes, expected ${byteSize(t)}`);
      }
      put(b);
    }
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
    return { fileSize: pos, headerBytes: head.length };
  } catch (e) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    throw e;
  }
}
