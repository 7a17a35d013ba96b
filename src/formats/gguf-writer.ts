// Streaming GGUF v3 writer: writes the header (metadata and tensor infos, with every offset
// computed up front from the declared shapes), then asks a callback for each tensor's bytes in
// order and writes them with alignment padding, so only one tensor (or one chunk of it) is in
// memory at a time. The file is written under a temporary name and renamed when complete.
//
//   await writeGguf('out.gguf', {
//     metadata: [['general.architecture', gv.str('llama')], ['llama.block_count', gv.u32(2)]],
//     tensors: [{ name: 'token_embd.weight', type: 'BF16', shape: [vocab, hidden] }],
//     data: (t) => bytesOf(t.name),
//   });
import { closeSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { GgufError } from './gguf-errors.js';
import {
  GGML_MAX_DIMS,
  GGML_MAX_NAME,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_VALUE_TYPE,
  GGUF_WRITE_VERSION,
  ggmlByteSize,
  ggmlType,
} from './gguf-types.js';
import type { GgmlTypeName, GgufArrayValue, GgufValue } from './gguf-types.js';

export interface GgufTensorSpec {
  readonly name: string;
  readonly type: GgmlTypeName;
  /** Row-major shape (outermost first), as in safetensors / PyTorch; stored reversed as ggml `ne`. */
  readonly shape: readonly number[];
}

/** A tensor's bytes: all at once, or as chunks that add up to its size. */
export type GgufTensorData = Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>;

export interface GgufWriteOptions {
  readonly metadata: Iterable<readonly [string, GgufValue]>;
  readonly tensors: readonly GgufTensorSpec[];
  /** Called once per tensor, in the order of `tensors`, for its data. */
  readonly data: (tensor: GgufTensorSpec, index: number) => GgufTensorData | Promise<GgufTensorData>;
  /** Data alignment; written as `general.alignment` when not the default 32. */
  readonly alignment?: number;
}

export interface GgufWriteResult {
  readonly fileSize: number;
  readonly dataOffset: number;
  /** Offsets of each tensor's data relative to the data section, in `tensors` order. */
  readonly tensorOffsets: readonly number[];
}

/** Growable little-endian byte builder for the header. */
class Bytes {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private room(n: number): number {
    if (this.length + n > this.buf.length) {
      const next = Buffer.alloc(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(next, 0, 0, this.length);
      this.buf = next;
    }
    const at = this.length;
    this.length += n;
    return at;
  }
  // room() may replace this.buf, so it must run before this.buf is read.
  u8(v: number): void { const at = this.room(1); this.buf.writeUInt8(v, at); }
  i8(v: number): void { const at = this.room(1); this.buf.writeInt8(v, at); }
  u16(v: number): void { const at = this.room(2); this.buf.writeUInt16LE(v, at); }
  i16(v: number): void { const at = this.room(2); this.buf.writeInt16LE(v, at); }
  u32(v: number): void { const at = this.room(4); this.buf.writeUInt32LE(v, at); }
  i32(v: number): void { const at = this.room(4); this.buf.writeInt32LE(v, at); }
  f32(v: number): void { const at = this.room(4); this.buf.writeFloatLE(v, at); }
  f64(v: number): void { const at = this.room(8); this.buf.writeDoubleLE(v, at); }
  u64(v: bigint | number): void { const at = this.room(8); this.buf.writeBigUInt64LE(BigInt(v), at); }
  i64(v: bigint): void { const at = this.room(8); this.buf.writeBigInt64LE(v, at); }
  str(s: string): void {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    const at = this.room(b.length);
    b.copy(this.buf, at);
  }
  zeros(n: number): void { const at = this.room(n); this.buf.fill(0, at, this.length); }
  bytes(): Buffer { return this.buf.subarray(0, this.length); }
}

const INT_RANGE: Readonly<Record<string, readonly [number, number]>> = {
  u8: [0, 0xff], i8: [-0x80, 0x7f], u16: [0, 0xffff], i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff], i32: [-0x80000000, 0x7fffffff],
};

function writeNumber(b: Bytes, type: string, v: number, fail: (m: string) => never): void {
  const range = INT_RANGE[type];
  if (range && (!Number.isInteger(v) || v < range[0] || v > range[1])) fail(`${v} is not a valid ${type}`);
  switch (type) {
    case 'u8': return b.u8(v);
    case 'i8': return b.i8(v);
    case 'u16': return b.u16(v);
    case 'i16': return b.i16(v);
    case 'u32': return b.u32(v);
    case 'i32': return b.i32(v);
    case 'f32': return b.f32(v);
    case 'f64': return b.f64(v);
    default: fail(`unknown number type ${type}`);
  }
}

function writeArray(b: Bytes, a: GgufArrayValue, fail: (m: string) => never): void {
  b.u32(GGUF_VALUE_TYPE[a.itemType]);
  b.u64(a.value.length);
  switch (a.itemType) {
    case 'string': for (const s of a.value) b.str(s); return;
    case 'bool': for (const x of a.value) b.u8(x ? 1 : 0); return;
    case 'u64': for (const x of a.value) b.u64(x); return;
    case 'i64': for (const x of a.value) b.i64(x); return;
    case 'array': for (const x of a.value) writeArray(b, x, fail); return;
    default: for (const x of a.value) writeNumber(b, a.itemType, x, fail);
  }
}

function writeValue(b: Bytes, v: GgufValue, fail: (m: string) => never): void {
  b.u32(GGUF_VALUE_TYPE[v.type]);
  switch (v.type) {
    case 'string': return b.str(v.value);
    case 'bool': return b.u8(v.value ? 1 : 0);
    case 'u64':
      if (v.value < 0n || v.value >= 1n << 64n) fail(`${v.value} is not a valid u64`);
      return b.u64(v.value);
    case 'i64':
      if (v.value < -(1n << 63n) || v.value >= 1n << 63n) fail(`${v.value} is not a valid i64`);
      return b.i64(v.value);
    case 'array': return writeArray(b, v, fail);
    default: return writeNumber(b, v.type, v.value, fail);
  }
}

/** Byte size of each tensor, checking names, ranks and block multiples. */
function tensorSizes(path: string, tensors: readonly GgufTensorSpec[]): number[] {
  const seen = new Set<string>();
  return tensors.map((t) => {
    const bad = (m: string): never => { throw new GgufError('writer-misuse', path, m, { tensor: t.name }); };
    if (seen.has(t.name)) bad('duplicate tensor name');
    seen.add(t.name);
    if (Buffer.byteLength(t.name) >= GGML_MAX_NAME) bad(`name longer than ${GGML_MAX_NAME - 1} bytes`);
    if (t.shape.length < 1 || t.shape.length > GGML_MAX_DIMS) bad(`rank ${t.shape.length} is not in 1..${GGML_MAX_DIMS}`);
    if (!t.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`invalid shape [${t.shape.join(', ')}]`);
    const type = ggmlType(t.type);
    const inner = t.shape[t.shape.length - 1]!;
    if (inner % type.blockSize !== 0) bad(`${t.type} rows of ${inner} elements are not a multiple of the block size ${type.blockSize}`);
    return ggmlByteSize(type, t.shape.reduce((a, d) => a * d, 1))!;
  });
}

function writeAll(fd: number, data: Uint8Array, position: number): void {
  let done = 0;
  while (done < data.byteLength) done += writeSync(fd, data, done, data.byteLength - done, position + done);
}

function isAsyncIterable(x: GgufTensorData): x is AsyncIterable<Uint8Array> {
  return typeof (x as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function';
}

export async function writeGguf(path: string, options: GgufWriteOptions): Promise<GgufWriteResult> {
  const metadata = new Map<string, GgufValue>();
  for (const [k, v] of options.metadata) {
    if (metadata.has(k)) throw new GgufError('writer-misuse', path, 'duplicate metadata key', { key: k });
    metadata.set(k, v);
  }
  const declared = metadata.get('general.alignment');
  if (declared !== undefined && declared.type !== 'u32') {
    throw new GgufError('bad-alignment', path, `must be a u32, is ${declared.type}`, { key: 'general.alignment' });
  }
  const alignment = options.alignment ?? (declared?.type === 'u32' ? declared.value : GGUF_DEFAULT_ALIGNMENT);
  if (!Number.isInteger(alignment) || alignment <= 0 || (alignment & (alignment - 1)) !== 0) {
    throw new GgufError('bad-alignment', path, `alignment ${alignment} is not a power of two`, { key: 'general.alignment' });
  }
  if (declared?.type === 'u32' && declared.value !== alignment) {
    throw new GgufError('bad-alignment', path, `metadata says ${declared.value} but the writer was asked for ${alignment}`, { key: 'general.alignment' });
  }
  if (declared === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT) metadata.set('general.alignment', { type: 'u32', value: alignment });

  const sizes = tensorSizes(path, options.tensors);
  const offsets: number[] = [];
  let dataSize = 0;
  for (const s of sizes) {
    offsets.push(dataSize);
    dataSize += Math.ceil(s / alignment) * alignment;
  }

  const h = new Bytes();
  h.u32(GGUF_MAGIC);
  h.u32(GGUF_WRITE_VERSION);
  h.u64(options.tensors.length);
  h.u64(metadata.size);
  for (const [k, v] of metadata) {
    h.str(k);
    writeValue(h, v, (m) => { throw new GgufError('writer-misuse', path, m, { key: k }); });
  }
  options.tensors.forEach((t, i) => {
    h.str(t.name);
    h.u32(t.shape.length);
    for (let d = t.shape.length - 1; d >= 0; d--) h.u64(t.shape[d]!);
    h.u32(ggmlType(t.type).id);
    h.u64(offsets[i]!);
  });
  // Like ggml, pad the header to the alignment only when a data section follows.
  const dataOffset = options.tensors.length > 0 ? Math.ceil(h.length / alignment) * alignment : h.length;
  h.zeros(dataOffset - h.length);

  const tmp = `${path}.partial-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w');
  } catch (e) {
    throw new GgufError('io', path, `cannot create: ${(e as Error).message}`);
  }
  let open = true;
  try {
    writeAll(fd, h.bytes(), 0);
    const padding = new Uint8Array(alignment);
    for (let i = 0; i < options.tensors.length; i++) {
      const t = options.tensors[i]!;
      const base = dataOffset + offsets[i]!;
      let written = 0;
      const put = (chunk: Uint8Array): void => {
        if (written + chunk.byteLength > sizes[i]!) {
          throw new GgufError('writer-misuse', path, `data callback gave more than the ${sizes[i]} bytes of a ${t.type} [${t.shape.join(', ')}] tensor`, { tensor: t.name });
        }
        writeAll(fd, chunk, base + written);
        written += chunk.byteLength;
      };
      const data = await options.data(t, i);
      if (data instanceof Uint8Array) put(data);
      else if (isAsyncIterable(data)) for await (const c of data) put(c);
      else for (const c of data) put(c);
      if (written !== sizes[i]) {
        throw new GgufError('writer-misuse', path, `data callback gave ${written} bytes, a ${t.type} [${t.shape.join(', ')}] tensor has ${sizes[i]}`, { tensor: t.name });
      }
      const pad = Math.ceil(written / alignment) * alignment - written;
      if (pad > 0) writeAll(fd, padding.subarray(0, pad), base + written);
    }
    open = false;
    closeSync(fd);
    renameSync(tmp, path);
  } catch (e) {
    if (open) closeSync(fd);
    rmSync(tmp, { force: true });
    if (e instanceof GgufError) throw e;
    throw new GgufError('io', path, `write failed: ${(e as Error).message}`);
  }
  return { fileSize: dataOffset + dataSize, dataOffset, tensorOffsets: offsets };
}
