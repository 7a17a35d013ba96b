// A GGUF file's tensors under the Hugging Face names an architecture binds, so every
// architecture's weight binding reads GGUF files unchanged; stacked experts become per-expert views.
import { GgufError } from '../formats/gguf-errors.js';
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import type { GgufTensorRef } from './architecture.js';

/**
 * The file's tensors under the Hugging Face names an architecture binds: `ref(name)` says where
 * each lives; a slice is row block `slice` of a tensor stacked along its first dimension.
 */
export function mappedTensors(file: TensorStore, ref: (hfName: string) => GgufTensorRef | null): TensorStore {
  const locate = (name: string): { info: TensorInfo; from: string; slice: number | null } | null => {
    const r = ref(name);
    if (r === null) return null;
    const from = typeof r === 'string' ? r : r.name;
    if (!file.has(from)) return null;
    return { info: file.info(from), from, slice: typeof r === 'string' ? null : r.slice };
  };
  const info = (name: string): TensorInfo => {
    const l = locate(name);
    if (!l) throw new GgufError('tensor-not-found', file.source, `no tensor ${JSON.stringify(ref(name) ?? name)} holds ${name}`, { tensor: name });
    if (l.slice === null) return { ...l.info, name };
    const [count, ...rest] = l.info.shape;
    if (count === undefined || l.slice >= count) throw new GgufError('bad-tensor-info', file.source, `has no slice ${l.slice} along its first dimension of ${count}`, { tensor: l.from });
    const bytes = l.info.byteLength / count;
    return { ...l.info, name, shape: rest, offset: l.info.offset + l.slice * bytes, byteLength: bytes };
  };
  return {
    source: file.source,
    has: (name) => locate(name) !== null,
    info,
    read: (name) => {
      const t = info(name); // throws when nothing holds it
      const from = locate(name)!.from;
      const start = t.offset - file.info(from).offset;
      return file.readRange ? file.readRange(from, start, t.byteLength) : file.read(from).subarray(start, start + t.byteLength);
    },
    fileName: (name) => {
      const r = ref(name);
      return r === null ? name : typeof r === 'string' ? r : `${r.name}[${r.slice}]`;
    },
    /** the mapped names are only known to the architecture (its manifest) */
    names: () => [],
    close: () => file.close(),
  };
}
