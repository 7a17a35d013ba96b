// The safetensors header, parsed from bytes fetched over HTTP (the Node reader in
// src/formats/safetensors.ts reads files; this one gets the same checks without Node APIs).
import { DTYPE_BYTES, isStorageDType } from '../formats/dtype.js';
import { ModelFormatError } from '../formats/errors.js';
import type { TensorInfo } from '../formats/safetensors.js';

/** Largest header accepted (the format's own limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The header length from a file's first 8 bytes. */
export function headerLength(url: string, first8: Uint8Array): number {
  if (first8.byteLength < 8) throw new ModelFormatError(url, 'file is truncated: no header length');
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES) throw new ModelFormatError(url, `header length ${n} exceeds the 100 MB limit`);
  return n;
}

/**
 * Tensors of one file from its JSON header; offsets are absolute in the file. `dataSize` (the
 * bytes after the header) bounds the offsets when known.
 */
export function parseSafetensorsHeader(url: string, json: Uint8Array, dataSize: number | null): Map<string, TensorInfo> {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new ModelFormatError(url, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelFormatError(url, 'header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  const tensors = new Map<string, TensorInfo>();
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') continue;
    if (typeof entry !== 'object' || entry === null) throw new ModelFormatError(url, 'header entry is not an object', { tensor: name });
    const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !isStorageDType(dtype)) throw new ModelFormatError(url, `unknown dtype ${JSON.stringify(dtype)}`, { tensor: name });
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw new ModelFormatError(url, '"shape" must be an array of non-negative integers', { tensor: name });
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw new ModelFormatError(url, '"data_offsets" must be [begin, end] non-negative integers', { tensor: name });
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    if (end < begin || end - begin !== expected) {
      throw new ModelFormatError(url, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`, { tensor: name });
    }
    if (dataSize !== null && end > dataSize) throw new ModelFormatError(url, `data_offsets [${begin}, ${end}] go beyond the data section (${dataSize} bytes)`, { tensor: name });
    ranges.push([begin, end, name]);
    tensors.set(name, { name, dtype, shape: Object.freeze([...(shape as number[])]), file: url, offset: dataStart + begin, byteLength: expected });
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i]![0] < ranges[i - 1]![1]) throw new ModelFormatError(url, `data overlaps tensor "${ranges[i - 1]![2]}"`, { tensor: ranges[i]![2] });
  }
  return tensors;
}
