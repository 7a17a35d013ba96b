// GGUF reader. Opening a file parses only its header (metadata and tensor infos) and checks every
// tensor's byte range against the file; tensor bytes are read on demand by file offset, so a
// multi-gigabyte model is never held in one JS buffer.
//
//   const f = GgufFile.open('model.gguf');
//   f.metaString('general.architecture');          // 'deepseek2'
//   f.info('blk.0.attn_q_a.weight').shape;          // row-major, e.g. [384, 1024]
//   f.readF32('blk.0.attn_norm.weight');            // Float32Array (F32/F16/BF16/Q8_0)
//   f.close();
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { canDequantize, dequantize } from './gguf-codec.js';
import { GgufError } from './gguf-errors.js';
import { parseGgufHeader } from './gguf-header.js';
import { ggmlByteSize } from './gguf-types.js';
import type { GgmlTypeInfo, GgufValue } from './gguf-types.js';

export { GgufError } from './gguf-errors.js';
export type { GgufErrorCode } from './gguf-errors.js';
export type { GgmlTypeInfo, GgmlTypeName, GgufValue, GgufArrayValue } from './gguf-types.js';

export interface GgufTensorInfo {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** ggml order: ne[0] is the innermost (contiguous) dimension, as stored in the file. */
  readonly ne: readonly number[];
  /** Row-major order (outermost first), i.e. `ne` reversed; matches safetensors / PyTorch shapes. */
  readonly shape: readonly number[];
  readonly elements: number;
  /** Absolute byte range of the data in the file: [offset, offset + byteLength). */
  readonly offset: number;
  readonly byteLength: number;
  /** Bytes of one row of ne[0] elements. */
  readonly rowBytes: number;
}

const READ_CHUNK = 1 << 30;

export class GgufFile {
  readonly path: string;
  readonly version: number;
  readonly alignment: number;
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  readonly fileSize: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  /** Tensor infos by name, in file order. */
  readonly tensors: ReadonlyMap<string, GgufTensorInfo>;
  private fd: number | null;

  private constructor(
    path: string,
    fd: number,
    fileSize: number,
    header: { version: number; alignment: number; dataOffset: number; metadata: ReadonlyMap<string, GgufValue> },
    tensors: Map<string, GgufTensorInfo>,
  ) {
    this.path = path;
    this.fd = fd;
    this.fileSize = fileSize;
    this.version = header.version;
    this.alignment = header.alignment;
    this.dataOffset = header.dataOffset;
    this.metadata = header.metadata;
    this.tensors = tensors;
  }

  static open(path: string): GgufFile {
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (e) {
      throw new GgufError('io', path, `cannot open: ${(e as Error).message}`);
    }
    try {
      const fileSize = fstatSync(fd).size;
      const header = parseGgufHeader(path, fd, fileSize);
      const tensors = checkTensors(path, fileSize, header.dataOffset, header.alignment, header.tensors);
      return new GgufFile(path, fd, fileSize, header, tensors);
    } catch (e) {
      closeSync(fd);
      throw e;
    }
  }

  get architecture(): string | undefined {
    const v = this.metadata.get('general.architecture');
    return v?.type === 'string' ? v.value : undefined;
  }

  has(name: string): boolean {
    return this.tensors.has(name);
  }

  names(): string[] {
    return [...this.tensors.keys()];
  }

  info(name: string): GgufTensorInfo {
    const t = this.tensors.get(name);
    if (!t) throw new GgufError('tensor-not-found', this.path, 'no such tensor in the file', { tensor: name });
    return t;
  }

  /** All bytes of a tensor. */
  read(name: string): Uint8Array {
    const t = this.info(name);
    return this.readAt(t.offset, t.byteLength, t.name);
  }

  /** `byteLength` bytes starting `byteStart` bytes into the tensor's data. */
  readRange(name: string, byteStart: number, byteLength: number): Uint8Array {
    const t = this.info(name);
    if (!Number.isInteger(byteStart) || !Number.isInteger(byteLength) || byteStart < 0 || byteLength < 0 || byteStart + byteLength > t.byteLength) {
      throw new GgufError('offset-out-of-range', this.path, `byte range [${byteStart}, ${byteStart + byteLength}) is outside the tensor's ${t.byteLength} bytes`, { tensor: name });
    }
    return this.readAt(t.offset + byteStart, byteLength, t.name);
  }

  /** Raw bytes of rows [firstRow, firstRow + rowCount), a row being ne[0] elements (e.g. embedding rows). */
  readRows(name: string, firstRow: number, rowCount: number): Uint8Array {
    const t = this.info(name);
    return this.readRange(name, firstRow * t.rowBytes, rowCount * t.rowBytes);
  }

  /** The whole tensor decoded to float32 (F32, F16, BF16, Q8_0). */
  readF32(name: string): Float32Array {
    const t = this.info(name);
    return this.decode(t, this.read(name), t.elements);
  }

  /** Rows [firstRow, firstRow + rowCount) decoded to float32. */
  readRowsF32(name: string, firstRow: number, rowCount: number): Float32Array {
    const t = this.info(name);
    const elements = rowCount * (t.ne[0] ?? 1);
    return this.decode(t, this.readRows(name, firstRow, rowCount), elements);
  }

  // ---- metadata ----

  /** A metadata number (any integer or float type; 64-bit integers must be exactly representable). */
  metaNumber(key: string): number {
    const v = this.requireMeta(key);
    switch (v.type) {
      case 'u64':
      case 'i64':
        if (v.value > BigInt(Number.MAX_SAFE_INTEGER) || v.value < BigInt(Number.MIN_SAFE_INTEGER)) {
          throw new GgufError('bad-value', this.path, `${v.value} does not fit in a JS number`, { key });
        }
        return Number(v.value);
      case 'bool':
      case 'string':
      case 'array':
        throw new GgufError('bad-value', this.path, `expected a number, found ${describe(v)}`, { key });
      default:
        return v.value;
    }
  }

  metaString(key: string): string {
    const v = this.requireMeta(key);
    if (v.type !== 'string') throw new GgufError('bad-value', this.path, `expected a string, found ${v.type}`, { key });
    return v.value;
  }

  metaBool(key: string): boolean {
    const v = this.requireMeta(key);
    if (v.type !== 'bool') throw new GgufError('bad-value', this.path, `expected a bool, found ${v.type}`, { key });
    return v.value;
  }

  metaStrings(key: string): readonly string[] {
    const v = this.requireMeta(key);
    if (v.type !== 'array' || v.itemType !== 'string') {
      throw new GgufError('bad-value', this.path, `expected an array of strings, found ${describe(v)}`, { key });
    }
    return v.value;
  }

  metaNumbers(key: string): readonly number[] {
    const v = this.requireMeta(key);
    if (v.type === 'array') {
      switch (v.itemType) {
        case 'u64':
        case 'i64':
          return v.value.map((x) => Number(x));
        case 'string':
        case 'bool':
        case 'array':
          break;
        default:
          return v.value;
      }
    }
    throw new GgufError('bad-value', this.path, `expected an array of numbers, found ${describe(v)}`, { key });
  }

  close(): void {
    if (this.fd !== null) {
      closeSync(this.fd);
      this.fd = null;
    }
  }

  private requireMeta(key: string): GgufValue {
    const v = this.metadata.get(key);
    if (v === undefined) throw new GgufError('bad-value', this.path, 'missing metadata key', { key });
    return v;
  }

  private decode(t: GgufTensorInfo, bytes: Uint8Array, elements: number): Float32Array {
    if (!canDequantize(t.type)) {
      throw new GgufError('unsupported-type', this.path, `decoding ${t.type.name} to float32 is not supported (F32, F16, BF16, Q8_0 are)`, { tensor: t.name });
    }
    return dequantize(t.type, bytes, elements);
  }

  private readAt(position: number, length: number, tensor: string): Uint8Array {
    if (this.fd === null) throw new GgufError('io', this.path, 'file is closed', { tensor });
    const out = Buffer.allocUnsafeSlow(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, out, done, Math.min(READ_CHUNK, length - done), position + done);
      if (n === 0) throw new GgufError('truncated', this.path, `unexpected end of file at byte ${position + done}`, { tensor });
      done += n;
    }
    return new Uint8Array(out.buffer, out.byteOffset, length);
  }
}

function describe(v: GgufValue): string {
  return v.type === 'array' ? `array of ${v.itemType}` : v.type;
}

/** Builds the tensor infos and checks shapes, block multiples, alignment, bounds and overlaps. */
function checkTensors(
  path: string,
  fileSize: number,
  dataOffset: number,
  alignment: number,
  raw: ReturnType<typeof parseGgufHeader>['tensors'],
): Map<string, GgufTensorInfo> {
  const out = new Map<string, GgufTensorInfo>();
  let expected = 0; // where the tensor would start if the data section were contiguous, as ggml writes it
  for (const r of raw) {
    const elements = r.ne.reduce((a, b) => a * b, 1);
    if (!Number.isSafeInteger(elements)) {
      throw new GgufError('bad-tensor-info', path, `shape [${r.ne.join(', ')}] has too many elements`, { tensor: r.name });
    }
    const ne0 = r.ne[0] ?? 1;
    if (ne0 % r.type.blockSize !== 0) {
      throw new GgufError('bad-tensor-info', path, `${r.type.name} rows of ${ne0} elements are not a multiple of the block size ${r.type.blockSize}`, { tensor: r.name });
    }
    const byteLength = ggmlByteSize(r.type, elements) ?? 0;
    if (r.relativeOffset % alignment !== 0) {
      throw new GgufError('offset-out-of-range', path, `data offset ${r.relativeOffset} is not a multiple of the alignment ${alignment}`, { tensor: r.name });
    }
    const offset = dataOffset + r.relativeOffset;
    if (offset + byteLength > fileSize) {
      const truncated = r.relativeOffset === expected;
      throw new GgufError(
        truncated ? 'truncated' : 'offset-out-of-range',
        path,
        `data [${offset}, ${offset + byteLength}) lies beyond the end of the file (${fileSize} bytes)` +
          (truncated ? '; the file is truncated' : ''),
        { tensor: r.name },
      );
    }
    expected = r.relativeOffset + Math.ceil(byteLength / alignment) * alignment;
    out.set(r.name, {
      name: r.name,
      type: r.type,
      ne: r.ne,
      shape: [...r.ne].reverse(),
      elements,
      offset,
      byteLength,
      rowBytes: (ne0 / r.type.blockSize) * r.type.blockBytes,
    });
  }
  const sorted = [...out.values()].filter((t) => t.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1]!;
    const cur = sorted[i]!;
    if (cur.offset < prev.offset + prev.byteLength) {
      throw new GgufError('offset-out-of-range', path, `data overlaps tensor "${prev.name}"`, { tensor: cur.name });
    }
  }
  return out;
}
