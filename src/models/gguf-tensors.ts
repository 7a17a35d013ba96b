// A GGUF file's tensors under the Hugging Face names an architecture binds, so every
// architecture's weight binding reads GGUF files unchanged; stacked experts become per-expert views,
// and tensors the file stores in another layout are computed once (derived tensors).
import { GgufError } from '../formats/gguf-errors.js';
import { ScratchTensors } from '../formats/scratch-tensors.js';
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import type { GgufDerivedTensor, GgufTensorRef } from './architecture.js';

function isDerived(r: GgufTensorRef): r is GgufDerivedTensor {
  return typeof r === 'object' && 'compute' in r;
}

/** Derived tensors, each computed once into a scratch file (removed when the store closes). */
class DerivedFiles {
  private readonly scratch = new ScratchTensors('tessera-gguf-derived-');
  private readonly files = new Map<string, TensorInfo>();

  constructor(private readonly source: string) {}

  info(name: string, d: GgufDerivedTensor, file: TensorStore): TensorInfo {
    let info = this.files.get(name);
    if (!info) {
      const bytes = d.compute(file);
      const elements = d.shape.reduce((a, b) => a * b, 1);
      const want = elements * (d.dtype === 'F32' ? 4 : 2);
      if (bytes.byteLength !== want) throw new GgufError('bad-tensor-info', this.source, `derived tensor has ${bytes.byteLength} bytes, expected ${want}`, { tensor: d.from.join(' + ') });
      info = this.scratch.add(name, d.dtype, d.shape, bytes);
      this.files.set(name, info);
    }
    return info;
  }

  read(info: TensorInfo, start: number, length: number): Uint8Array {
    return this.scratch.read(info, start, length);
  }

  close(): void {
    this.scratch.close();
    this.files.clear();
  }
}

/**
 * The file's tensors under the Hugging Face names an architecture binds: `ref(name)` says where
 * each lives; a slice is row block `slice` of a tensor stacked along its first dimension; a derived
 * tensor is computed from the file's tensors.
 */
export function mappedTensors(file: TensorStore, ref: (hfName: string) => GgufTensorRef | null): TensorStore {
  const derived = new DerivedFiles(file.source);
  const refName = (r: GgufTensorRef): string => (typeof r === 'string' ? r : isDerived(r) ? r.from.join(' + ') : `${r.name}[${r.slice}]`);
  const locate = (name: string): { info: TensorInfo; from: string; slice: number | null } | 'derived' | null => {
    const r = ref(name);
    if (r === null) return null;
    if (isDerived(r)) return r.from.every((f) => file.has(f)) ? 'derived' : null;
    const from = typeof r === 'string' ? r : r.name;
    if (!file.has(from)) return null;
    return { info: file.info(from), from, slice: typeof r === 'string' ? null : r.slice };
  };
  const info = (name: string): TensorInfo => {
    const l = locate(name);
    const r = ref(name);
    if (!l || !r) {
      const missing = r && isDerived(r) ? r.from.filter((f) => !file.has(f)) : [];
      const why = missing.length > 0 ? `no tensor ${missing.join(', ')} (${name} is made from ${r && isDerived(r) ? r.from.join(' and ') : ''})` : `no tensor ${JSON.stringify(r ? refName(r) : name)} holds ${name}`;
      throw new GgufError('tensor-not-found', file.source, why, { tensor: missing[0] ?? name });
    }
    if (l === 'derived') return derived.info(name, r as GgufDerivedTensor, file);
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
      const l = locate(name)!;
      if (l === 'derived') return derived.read(t, 0, t.byteLength);
      const start = t.offset - file.info(l.from).offset;
      return file.readRange ? file.readRange(l.from, start, t.byteLength) : file.read(l.from).subarray(start, start + t.byteLength);
    },
    fileName: (name) => {
      const r = ref(name);
      return r === null ? name : refName(r);
    },
    /** the mapped names are only known to the architecture (its manifest) */
    names: () => [],
    close: () => {
      derived.close();
      file.close();
    },
  };
}
