// Parser of the GGUF header: magic, version, metadata key/values and tensor infos, read from a
// file descriptor through a small chunked reader (the tensor data is never read here).
//
// Layout (all little-endian; a string is a u64 byte length followed by UTF-8 bytes):
//   u32 magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv   x { string key | u32 value_type | value }            (array: u32 item_type, u64 n, items)
//   n_tensors x { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset }
//   padding to `general.alignment` (default 32), then the data section; tensor offsets are
//   relative to the data section and multiples of the alignment.
import { readSync } from 'node:fs';
import { GgufError } from './gguf-errors.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SCALAR_BYTES,
  GGUF_SUPPORTED_VERSIONS,
  ggmlTypeById,
  ggufValueTypeByCode,
} from './gguf-types.js';
import type { GgmlTypeInfo, GgufArrayValue, GgufValue, GgufValueTypeName } from './gguf-types.js';

export interface GgufRawTensorInfo {
  readonly name: string;
  readonly type: GgmlTypeInfo;
  /** ggml order: ne[0] is the innermost (contiguous) dimension. */
  readonly ne: readonly number[];
  /** Offset of the data relative to the start of the data section. */
  readonly relativeOffset: number;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly tensors: readonly GgufRawTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset of the data section. */
  readonly dataOffset: number;
}

const CHUNK = 1 << 20;
// ignoreBOM keeps a leading U+FEFF: it is part of some tokens (e.g. SentencePiece vocabularies).
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Sequential little-endian reader over a file descriptor that refills a buffer on demand. */
class ChunkReader {
  pos = 0;
  private buf: Buffer = Buffer.alloc(CHUNK);
  private bufStart = 0;
  private bufEnd = 0;

  constructor(
    readonly path: string,
    private readonly fd: number,
    readonly fileSize: number,
  ) {}

  get remaining(): number {
    return this.fileSize - this.pos;
  }

  /** Makes `n` bytes at `pos` available in the buffer and returns their index in it. */
  private need(n: number, what: string): number {
    if (this.pos + n > this.fileSize) {
      throw new GgufError(
        'truncated',
        this.path,
        `file ends at byte ${this.fileSize} while reading ${what} (${n} bytes at byte ${this.pos})`,
      );
    }
    if (this.pos < this.bufStart || this.pos + n > this.bufEnd) {
      if (n > this.buf.length) this.buf = Buffer.alloc(n);
      const want = Math.min(this.buf.length, this.fileSize - this.pos);
      let got = 0;
      while (got < want) {
        const r = readSync(this.fd, this.buf, got, want - got, this.pos + got);
        if (r === 0) throw new GgufError('truncated', this.path, `unexpected end of file at byte ${this.pos + got}`);
        got += r;
      }
      this.bufStart = this.pos;
      this.bufEnd = this.pos + got;
    }
    return this.pos - this.bufStart;
  }

  u8(what: string): number {
    const i = this.need(1, what);
    this.pos += 1;
    return this.buf.readUInt8(i);
  }
  i8(what: string): number {
    const i = this.need(1, what);
    this.pos += 1;
    return this.buf.readInt8(i);
  }
  u16(what: string): number {
    const i = this.need(2, what);
    this.pos += 2;
    return this.buf.readUInt16LE(i);
  }
  i16(what: string): number {
    const i = this.need(2, what);
    this.pos += 2;
    return this.buf.readInt16LE(i);
  }
  u32(what: string): number {
    const i = this.need(4, what);
    this.pos += 4;
    return this.buf.readUInt32LE(i);
  }
  i32(what: string): number {
    const i = this.need(4, what);
    this.pos += 4;
    return this.buf.readInt32LE(i);
  }
  f32(what: string): number {
    const i = this.need(4, what);
    this.pos += 4;
    return this.buf.readFloatLE(i);
  }
  f64(what: string): number {
    const i = this.need(8, what);
    this.pos += 8;
    return this.buf.readDoubleLE(i);
  }
  u64(what: string): bigint {
    const i = this.need(8, what);
    this.pos += 8;
    return this.buf.readBigUInt64LE(i);
  }
  i64(what: string): bigint {
    const i = this.need(8, what);
    this.pos += 8;
    return this.buf.readBigInt64LE(i);
  }
  /** A u64 that must fit in a JS number (counts, sizes, offsets). */
  size(what: string): number {
    const v = this.u64(what);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new GgufError('bad-value', this.path, `${what} is ${v}, larger than any valid file`);
    }
    return Number(v);
  }
  string(what: string): string {
    const len = this.size(`length of ${what}`);
    if (len > this.remaining) {
      throw new GgufError(
        'truncated',
        this.path,
        `${what} claims ${len} bytes but only ${this.remaining} remain at byte ${this.pos}`,
      );
    }
    const i = this.need(len, what);
    this.pos += len;
    try {
      return decoder.decode(this.buf.subarray(i, i + len));
    } catch {
      throw new GgufError('bad-value', this.path, `${what} at byte ${this.pos - len} is not valid UTF-8`);
    }
  }
}

function readScalar(r: ChunkReader, type: Exclude<GgufValueTypeName, 'array'>, what: string, key: string): GgufValue {
  switch (type) {
    case 'u8': return { type, value: r.u8(what) };
    case 'i8': return { type, value: r.i8(what) };
    case 'u16': return { type, value: r.u16(what) };
    case 'i16': return { type, value: r.i16(what) };
    case 'u32': return { type, value: r.u32(what) };
    case 'i32': return { type, value: r.i32(what) };
    case 'f32': return { type, value: r.f32(what) };
    case 'f64': return { type, value: r.f64(what) };
    case 'u64': return { type, value: r.u64(what) };
    case 'i64': return { type, value: r.i64(what) };
    case 'bool': {
      const b = r.u8(what);
      if (b > 1) throw new GgufError('bad-value', r.path, `bool with byte value ${b}`, { key });
      return { type, value: b === 1 };
    }
    case 'string': return { type, value: r.string(what) };
  }
}

function readArray(r: ChunkReader, path: string, key: string, depth: number): GgufArrayValue {
  const code = r.u32(`array item type of "${key}"`);
  const itemType = ggufValueTypeByCode(code);
  if (itemType === undefined) throw new GgufError('bad-value', path, `unknown array item type ${code}`, { key });
  const n = r.size(`array length of "${key}"`);
  const minItem = itemType === 'string' ? 8 : itemType === 'array' ? 12 : GGUF_SCALAR_BYTES[itemType];
  if (n * minItem > r.remaining) {
    throw new GgufError('truncated', path, `array of ${n} ${itemType} items does not fit in the ${r.remaining} bytes left`, { key });
  }
  if (itemType === 'array') {
    if (depth >= 8) throw new GgufError('bad-value', path, 'arrays nested deeper than 8 levels', { key });
    const value: GgufArrayValue[] = [];
    for (let i = 0; i < n; i++) value.push(readArray(r, path, key, depth + 1));
    return { type: 'array', itemType, value };
  }
  const what = `item of "${key}"`;
  switch (itemType) {
    case 'u64':
    case 'i64': {
      const value: bigint[] = new Array<bigint>(n);
      for (let i = 0; i < n; i++) value[i] = itemType === 'u64' ? r.u64(what) : r.i64(what);
      return { type: 'array', itemType, value };
    }
    case 'bool': {
      const value: boolean[] = new Array<boolean>(n);
      for (let i = 0; i < n; i++) value[i] = r.u8(what) !== 0;
      return { type: 'array', itemType, value };
    }
    case 'string': {
      const value: string[] = new Array<string>(n);
      for (let i = 0; i < n; i++) value[i] = r.string(what);
      return { type: 'array', itemType, value };
    }
    default: {
      const value: number[] = new Array<number>(n);
      for (let i = 0; i < n; i++) value[i] = (readScalar(r, itemType, what, key) as { value: number }).value;
      return { type: 'array', itemType, value };
    }
  }
}

function checkVersion(path: string, version: number): void {
  if (GGUF_SUPPORTED_VERSIONS.includes(version)) return;
  if ((version & 0xffff) === 0 && GGUF_SUPPORTED_VERSIONS.includes(version >>> 24)) {
    throw new GgufError('unsupported-version', path, `version ${version} looks like a big-endian GGUF file, which is not supported`);
  }
  if (version === 1) throw new GgufError('unsupported-version', path, 'GGUF version 1 is no longer supported; reconvert the model');
  throw new GgufError('unsupported-version', path, `GGUF version ${version} is not supported (versions ${GGUF_SUPPORTED_VERSIONS.join(', ')} are)`);
}

export function parseGgufHeader(path: string, fd: number, fileSize: number): GgufHeader {
  const r = new ChunkReader(path, fd, fileSize);
  if (fileSize < 4) throw new GgufError('truncated', path, `file is ${fileSize} bytes, too short to be a GGUF file`);
  const magic = r.u32('magic');
  if (magic !== GGUF_MAGIC) {
    const text = Buffer.alloc(4);
    text.writeUInt32LE(magic);
    throw new GgufError('bad-magic', path, `not a GGUF file: magic is ${JSON.stringify(text.toString('latin1'))}, expected "GGUF"`);
  }
  const version = r.u32('version');
  checkVersion(path, version);
  const nTensors = r.size('tensor count');
  const nKv = r.size('metadata count');
  // Each tensor info takes at least 8+4+4+8 bytes and each key/value at least 8+4+1.
  if (nTensors * 24 + nKv * 13 > r.remaining) {
    throw new GgufError('truncated', path, `header announces ${nTensors} tensors and ${nKv} keys, more than the ${r.remaining} bytes left can hold`);
  }

  const metadata = new Map<string, GgufValue>();
  for (let i = 0; i < nKv; i++) {
    const key = r.string(`key ${i}`);
    if (key.length === 0) throw new GgufError('bad-value', path, `key ${i} is empty`);
    if (metadata.has(key)) throw new GgufError('bad-value', path, 'duplicate metadata key', { key });
    const code = r.u32(`value type of "${key}"`);
    const type = ggufValueTypeByCode(code);
    if (type === undefined) throw new GgufError('bad-value', path, `unknown value type ${code}`, { key });
    metadata.set(key, type === 'array' ? readArray(r, path, key, 0) : readScalar(r, type, `value of "${key}"`, key));
  }

  let alignment = GGUF_DEFAULT_ALIGNMENT;
  const al = metadata.get('general.alignment');
  if (al !== undefined) {
    if (al.type !== 'u32') throw new GgufError('bad-alignment', path, `must be a u32, is ${al.type}`, { key: 'general.alignment' });
    if (al.value === 0 || (al.value & (al.value - 1)) !== 0) {
      throw new GgufError('bad-alignment', path, `${al.value} is not a power of two`, { key: 'general.alignment' });
    }
    alignment = al.value;
  }

  const tensors: GgufRawTensorInfo[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < nTensors; i++) {
    const name = r.string(`name of tensor ${i}`);
    if (Buffer.byteLength(name) >= GGML_MAX_NAME) {
      throw new GgufError('bad-tensor-info', path, `name is ${Buffer.byteLength(name)} bytes, ggml allows at most ${GGML_MAX_NAME - 1}`, { tensor: name });
    }
    if (seen.has(name)) throw new GgufError('bad-tensor-info', path, 'duplicate tensor name', { tensor: name });
    seen.add(name);
    const nDims = r.u32(`rank of tensor "${name}"`);
    if (nDims > GGML_MAX_DIMS) {
      throw new GgufError('bad-tensor-info', path, `has ${nDims} dimensions, ggml allows at most ${GGML_MAX_DIMS}`, { tensor: name });
    }
    const ne: number[] = [];
    for (let d = 0; d < nDims; d++) ne.push(r.size(`dimension ${d} of tensor "${name}"`));
    const code = r.u32(`type of tensor "${name}"`);
    const type = ggmlTypeById(code);
    if (type === undefined) throw new GgufError('unknown-ggml-type', path, `unknown ggml type id ${code}`, { tensor: name });
    const relativeOffset = r.size(`data offset of tensor "${name}"`);
    tensors.push({ name, type, ne, relativeOffset });
  }

  const dataOffset = Math.ceil(r.pos / alignment) * alignment;
  return { version, metadata, tensors, alignment, dataOffset };
}
