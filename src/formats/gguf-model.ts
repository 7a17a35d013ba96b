// A GGUF model as users download it: one file, or a split set `name-00001-of-0000N.gguf` (the
// first shard holds the metadata; each shard has its own header, tensor infos and data section).
// Tensors are exposed as a TensorStore by their GGUF names, with row-major shapes and the byte
// range of their data, so devices memory-map them in place like safetensors tensors.
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { TensorInfo } from './safetensors.js';
import type { TensorStore } from './tensor-store.js';
import { GgufError, GgufFile } from './gguf.js';
import type { GgufTensorInfo, GgufValue } from './gguf.js';
import type { GgmlTypeName } from './gguf.js';
import { QUANT_DTYPES, isQuantDType } from './dtype.js';

const SPLIT = /^(.*)-(\d{5})-of-(\d{5})\.gguf$/;

export interface GgufModel {
  readonly path: string;
  readonly shards: readonly GgufFile[];
  /** metadata of the first shard (split.* keys included) */
  readonly metadata: ReadonlyMap<string, GgufValue>;
  readonly architecture: string;
  /** the tensors of every shard by GGUF name */
  readonly tensors: TensorStore;
  close(): void;
}

/** The shard paths of a split set given its first (or any) shard, or just `path`. */
export function shardPaths(path: string): string[] {
  const m = SPLIT.exec(basename(path));
  if (!m) return [path];
  const count = Number(m[3]);
  const dir = dirname(path);
  return Array.from({ length: count }, (_, i) => join(dir, `${m[1]}-${String(i + 1).padStart(5, '0')}-of-${m[3]}.gguf`));
}

function metaInt(f: GgufFile, key: string): number | null {
  return f.metadata.has(key) ? f.metaNumber(key) : null;
}

/** Opens a GGUF file or split set; every problem is a GgufError naming the file and the tensor or key. */
export function openGgufModel(path: string): GgufModel {
  const paths = shardPaths(path);
  for (const p of paths) if (!existsSync(p)) throw new GgufError('io', p, `shard of the split set ${basename(path)} is missing`);
  const shards: GgufFile[] = [];
  try {
    for (const p of paths) shards.push(GgufFile.open(p));
    const first = shards[0]!;
    const count = metaInt(first, 'split.count');
    if (paths.length > 1 || count !== null) {
      if (count !== paths.length) throw new GgufError('bad-value', first.path, `split.count is ${count ?? 'missing'} but the file name says ${paths.length} shards`, { key: 'split.count' });
      shards.forEach((s, i) => {
        const no = metaInt(s, 'split.no');
        if (no !== i) throw new GgufError('bad-value', s.path, `split.no is ${no ?? 'missing'}, expected ${i} for this shard`, { key: 'split.no' });
      });
    }
    const where = new Map<string, { file: GgufFile; info: GgufTensorInfo }>();
    for (const s of shards) {
      for (const info of s.tensors.values()) {
        if (where.has(info.name)) throw new GgufError('bad-tensor-info', s.path, `tensor also stored in ${where.get(info.name)!.file.path}`, { tensor: info.name });
        where.set(info.name, { file: s, info });
      }
    }
    const total = metaInt(first, 'split.tensors.count');
    if (total !== null && total !== where.size) throw new GgufError('bad-value', first.path, `split.tensors.count is ${total} but the shards hold ${where.size} tensors`, { key: 'split.tensors.count' });
    const arch = first.metadata.get('general.architecture');
    if (arch?.type !== 'string') throw new GgufError('bad-value', first.path, arch ? `expected a string, found ${arch.type}` : 'missing metadata key', { key: 'general.architecture' });
    return { path, shards, metadata: first.metadata, architecture: arch.value, tensors: store(path, where), close: () => shards.forEach((s) => s.close()) };
  } catch (e) {
    for (const s of shards) s.close();
    throw e;
  }
}

/** The dtype Tessera computes with for a ggml tensor type; other types are refused by name. */
function tensorDTypeOfGgml(type: GgmlTypeName, file: string, tensor: string): TensorInfo['dtype'] {
  if (type === 'F32' || type === 'F16' || type === 'BF16' || isQuantDType(type)) return type;
  throw new GgufError('unsupported-type', file, `type ${type} cannot be computed with (supported: F32, F16, BF16, ${QUANT_DTYPES.join(', ')})`, { tensor });
}

function store(path: string, where: ReadonlyMap<string, { file: GgufFile; info: GgufTensorInfo }>): TensorStore {
  const get = (name: string) => {
    const w = where.get(name);
    if (!w) throw new GgufError('tensor-not-found', path, 'no such tensor in the model', { tensor: name });
    return w;
  };
  return {
    source: path,
    has: (name) => where.has(name),
    info: (name): TensorInfo => {
      const { file, info } = get(name);
      return { name, dtype: tensorDTypeOfGgml(info.type.name, file.path, name), shape: info.shape, file: file.path, offset: info.offset, byteLength: info.byteLength };
    },
    read: (name) => get(name).file.read(name),
    readRange: (name, byteStart, byteLength) => get(name).file.readRange(name, byteStart, byteLength),
    names: () => [...where.keys()],
    close: () => undefined,
  };
}
