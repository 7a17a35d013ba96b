// Reader for the safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__"?: {...}}, then raw data.
// Only the header is read when a file is opened; tensor bytes are read on demand by byte range.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ModelFormatError } from './errors.js';
import { headerLength, parseSafetensorsHeader } from './safetensors-header.js';
import type { TensorInfo } from './safetensors-header.js';

export type { TensorInfo };

const READ_CHUNK = 1 << 30;

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
  const len = headerLength(path, size >= 8 ? readExactly(path, fd, 8, 0) : new Uint8Array(size), size);
  return parseSafetensorsHeader(path, readExactly(path, fd, len, 8), size - 8 - len);
}
