// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then raw data.
// Only the header is read when a file is opened; tensor bytes are read on demand by byte range.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { DTYPE_BYTES, isStorageDType } from './dtype.js';
import type { StorageDType } from './dtype.js';
import { ModelFormatError } from './errors.js';

export interface TensorInfo {
  readonly name: string;
  readonly dtype: StorageDType;
  readonly shape: readonly number[];
  /** The file holding the tensor and the absolute byte range of its data in it. */
  readonly file: string;
  readonly offset: number;
  readonly byteLength: number;
}

/** Largest header accepted (the format's own limit is 100 MB). */
const MAX_HEADER_BYTES = 100_000_000;
const READ_CHUNK = 1 << 30;

function numel(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export class SafetensorsFile {
  readonly path: string;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | null;

  private constructor(path: string, fd: number, tensors: Map<string, TensorInfo>, metadata: Record<string, string>) {
    this.path = path;
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static open(path: string): SafetensorsFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new ModelFormatError(path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const { tensors, metadata } = parseHeader(path, fd);
      return new SafetensorsFile(path, fd, tensors, metadata);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  info(name: string): TensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new ModelFormatError(this.path, 'tensor not found', { tensor: name });
    return t;
  }

  /** Read a tensor's raw bytes into a new buffer (or into `into`, which must be large enough). */
  read(name: string, into?: Uint8Array): Uint8Array {
    const t = this.info(name);
    if (this.fd === null) throw new ModelFormatError(this.path, 'file is closed', { tensor: name });
    const out = into ?? new Uint8Array(t.byteLength);
    let done = 0;
    while (done < t.byteLength) {
      const len = Math.min(READ_CHUNK, t.byteLength - done);
      const got = readSync(this.fd, out, done, len, t.offset + done);
      if (got <= 0) throw new ModelFormatError(this.path, 'file ended while reading tensor data', { tensor: name });
      done += got;
    }
    return out;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

function readExactly(path: string, fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const got = readSync(fd, buf, done, length - done, position + done);
    if (got <= 0) throw new ModelFormatError(path, 'file is truncated');
    done += got;
  }
  return buf;
}

function parseHeader(path: string, fd: number): { tensors: Map<string, TensorInfo>; metadata: Record<string, string> } {
  const size = fstatSync(fd).size;
  if (size < 8) throw new ModelFormatError(path, `file is truncated: ${size} bytes, no header length`);
  const headerLen = Number(readExactly(path, fd, 8, 0).readBigUInt64LE(0));
  if (headerLen > MAX_HEADER_BYTES) throw new ModelFormatError(path, `header length ${headerLen} exceeds the 100 MB limit`);
  if (8 + headerLen > size) {
    throw new ModelFormatError(path, `header length ${headerLen} goes beyond the end of the file (${size} bytes): truncated or not a safetensors file`);
  }
  const text = readExactly(path, fd, headerLen, 8).toString('utf8');
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new ModelFormatError(path, `header is not valid JSON: ${(e as Error).message}`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new ModelFormatError(path, 'header is not a JSON object');
  }
  const dataStart = 8 + headerLen;
  const dataSize = size - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      metadata = parseMetadata(path, entry);
      continue;
    }
    const info = parseEntry(path, name, entry, dataStart);
    const [begin, end] = [info.offset - dataStart, info.offset - dataStart + info.byteLength];
    if (end > dataSize) {
      throw new ModelFormatError(path, `data_offsets [${begin}, ${end}] go beyond the data section (${dataSize} bytes): file is truncated or offsets are wrong`, { tensor: name });
    }
    ranges.push([begin, end, name]);
    tensors.set(name, info);
  }
  ranges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (let i = 1; i < ranges.length; i++) {
    const prev = ranges[i - 1]!;
    const cur = ranges[i]!;
    if (cur[0] < prev[1]) {
      throw new ModelFormatError(path, `data overlaps tensor "${prev[2]}" ([${cur[0]}, ${cur[1]}] vs [${prev[0]}, ${prev[1]}])`, { tensor: cur[2] });
    }
  }
  return { tensors, metadata };
}

function parseMetadata(path: string, entry: unknown): Record<string, string> {
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    throw new ModelFormatError(path, '"__metadata__" must be an object of strings', { key: '__metadata__' });
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(entry as Record<string, unknown>)) {
    if (typeof v !== 'string') throw new ModelFormatError(path, `metadata value must be a string`, { key: `__metadata__.${k}` });
    out[k] = v;
  }
  return out;
}

function parseEntry(path: string, name: string, entry: unknown, dataStart: number): TensorInfo {
  if (typeof entry !== 'object' || entry === null) throw new ModelFormatError(path, 'header entry is not an object', { tensor: name });
  const { dtype, shape, data_offsets: offsets } = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
  if (typeof dtype !== 'string') throw new ModelFormatError(path, 'missing "dtype"', { tensor: name });
  if (!isStorageDType(dtype)) {
    throw new ModelFormatError(path, `unknown dtype "${dtype}" (supported: ${Object.keys(DTYPE_BYTES).join(', ')})`, { tensor: name });
  }
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelFormatError(path, '"shape" must be an array of non-negative integers', { tensor: name });
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
    throw new ModelFormatError(path, '"data_offsets" must be [begin, end] non-negative integers', { tensor: name });
  }
  const [begin, end] = offsets as [number, number];
  const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
  if (end < begin || end - begin !== expected) {
    throw new ModelFormatError(path, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but ${dtype} ${JSON.stringify(shape)} needs ${expected}`, { tensor: name });
  }
  return { name, dtype, shape: Object.freeze([...(shape as number[])]), file: path, offset: dataStart + begin, byteLength: expected };
}
