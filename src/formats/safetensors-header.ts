// The safetensors header as bytes -> validated tensor infos. No Node APIs: the file reader
// (safetensors.ts) and the browser's HTTP loader both use it.
import { DTYPE_BYTES, isStorageDType } from './dtype.js';
import type { TensorDType } from './dtype.js';
import { ModelFormatError } from './errors.js';

export interface TensorInfo {
  readonly name: string;
  /** safetensors files hold StorageDType elements; GGUF files also quantized blocks */
  readonly dtype: TensorDType;
  readonly shape: readonly number[];
  /** The file holding the tensor and the absolute byte range of its data in it. */
  readonly file: string;
  readonly offset: number;
  readonly byteLength: number;
}

/** Largest header accepted (the format's own limit is 100 MB). */
export const MAX_HEADER_BYTES = 100_000_000;

/** The header length from a file's first 8 bytes, checked against the file size when known. */
export function headerLength(file: string, first8: Uint8Array, fileSize: number | null): number {
  if (first8.byteLength < 8) throw new ModelFormatError(file, `file is truncated: ${first8.byteLength} bytes, no header length`);
  const n = Number(new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true));
  if (n > MAX_HEADER_BYTES) throw new ModelFormatError(file, `header length ${n} exceeds the 100 MB limit`);
  if (fileSize !== null && 8 + n > fileSize) {
    throw new ModelFormatError(file, `header length ${n} goes beyond the end of the file (${fileSize} bytes): truncated or not a safetensors file`);
  }
  return n;
}

/**
 * Tensors and metadata from the JSON header bytes; offsets become absolute in the file.
 * `dataSize` (bytes after the header) bounds the data offsets when known.
 */
export function parseSafetensorsHeader(
  file: string,
  json: Uint8Array,
  dataSize: number | null,
): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder().decode(json));
  } catch (e) {
    throw new ModelFormatError(file, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new ModelFormatError(file, 'header is not a JSON object');
  const dataStart = 8 + json.byteLength;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(file, entry);
      continue;
    }
    const info = parseEntry(file, name, entry, dataStart);
    const begin = info.offset - dataStart;
    const end = begin + info.byteLength;
    if (dataSize !== null && end > dataSize) {
      throw new ModelFormatError(file, `data_offsets [${begin}, ${end}] go beyond the data section (${dataSize} bytes): file is truncated or offsets are wrong`, { tensor: name });
    }
    ranges.push([begin, end, name]);
    tensors.set(name, info);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur[0] < prev[1]) {
      throw new ModelFormatError(file, `data overlaps tensor "${prev[2]}" ([${cur[0]}, ${cur[1]}] vs [${prev[0]}, ${prev[1]}])`, { tensor: cur[2] });
    }
  }
  return { tensors, metadata };
}

function parseMetadata(file: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ModelFormatError(file, '"__metadata__" must be an object of strings', { key: '__metadata__' });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new ModelFormatError(file, `metadata value must be a string`, { key: `__metadata__.${k}` });
    out[k] = v;
  }
  return out;
}

function parseEntry(file: string, name: string, entry: unknown, dataStart: number): TensorInfo {
  if (typeof entry !== 'object' || entry === null) throw new ModelFormatError(file, 'header entry is not an object', { tensor: name });
  const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') throw new ModelFormatError(file, 'missing "dtype"', { tensor: name });
  if (!isStorageDType(dtype)) {
    throw new ModelFormatError(file, `unknown dtype "${dtype}" (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`, { tensor: name });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFormatError(file, '"shape" must be an array of non-negative integers', { tensor: name });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new ModelFormatError(file, '"data_offsets" must be [begin, end] non-negative integers', { tensor: name });
  }
  const [begin, end] = offsets as [number, number];
  const expected = (shape as number[]).reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
  if (end < begin || end - begin !== expected) {
    throw new ModelFormatError(file, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`, { tensor: name });
  }
  return { name, dtype, shape: Object.freeze([...(shape as number[])]), file, offset: dataStart + begin, byteLength: expected };
}
