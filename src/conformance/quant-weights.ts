// Random weights in GGUF's quantized block types for the op cases: each tensor quantized from
// normal values (src/formats/gguf-quantize.ts) and written, block bytes as they are, into one flat
// file at 32-byte aligned offsets, so that devices map or upload them exactly as they would a
// GGUF file's tensors. Quantizing is the slow part: the bytes are made once per process.
import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { QuantDType } from '../formats/dtype.js';
import { ModelFormatError } from '../formats/errors.js';
import { quantize } from '../formats/gguf-quantize.js';
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { randomValues } from './random.js';

export interface QuantTensorSpec {
  readonly name: string;
  readonly shape: readonly [number, number];
  readonly seed: number;
  readonly std: number;
}

const made = new Map<string, Uint8Array>();

function bytesOf(dtype: QuantDType, t: QuantTensorSpec): Uint8Array {
  const key = `${dtype}\u0000${t.name}\u0000${t.shape.join('x')}\u0000${t.seed}\u0000${t.std}`;
  let b = made.get(key);
  if (!b) {
    b = quantize(dtype, randomValues(t.seed, t.shape[0] * t.shape[1], t.std));
    made.set(key, b);
  }
  return b;
}

/** The tensors as `<name>.<dtype>` in a file of `dir`, as a store. */
export function writeQuantStore(dir: string, dtype: QuantDType, tensors: readonly QuantTensorSpec[]): TensorStore {
  const file = join(dir, `${dtype}.bin`);
  const infos = new Map<string, TensorInfo>();
  const fd = openSync(file, 'w');
  try {
    let offset = 0;
    for (const t of tensors) {
      const bytes = bytesOf(dtype, t);
      const name = `${t.name}.${dtype}`;
      infos.set(name, { name, dtype, shape: t.shape, file, offset, byteLength: bytes.byteLength });
      writeSync(fd, bytes, 0, bytes.byteLength, offset);
      offset += Math.ceil(bytes.byteLength / 32) * 32;
    }
  } finally {
    closeSync(fd);
  }
  const info = (name: string): TensorInfo => {
    const t = infos.get(name);
    if (!t) throw new ModelFormatError(file, 'tensor not found', { tensor: name });
    return t;
  };
  const rfd = openSync(file, 'r');
  return {
    source: file,
    has: (name) => infos.has(name),
    info,
    read: (name) => {
      const t = info(name);
      const out = new Uint8Array(t.byteLength);
      if (readSync(rfd, out, 0, t.byteLength, t.offset) !== t.byteLength) throw new ModelFormatError(file, 'file ended while reading tensor data', { tensor: name });
      return out;
    },
    names: () => [...infos.keys()],
    close: () => closeSync(rfd),
  };
}

/** One store over several (names are unique across them). */
export function mergeStores(stores: readonly TensorStore[]): TensorStore {
  const owner = (name: string): TensorStore => stores.find((s) => s.has(name)) ?? stores[0]!;
  return {
    source: stores.map((s) => s.source).join(', '),
    has: (name) => stores.some((s) => s.has(name)),
    info: (name) => owner(name).info(name),
    read: (name) => owner(name).read(name),
    names: () => stores.flatMap((s) => s.names()),
    close: () => stores.forEach((s) => s.close()),
  };
}
