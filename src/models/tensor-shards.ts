// One rank's share of a checkpoint under tensor parallelism (Megatron's split): a matrix that
// produces per-head or per-MLP-column outputs is split by rows (a contiguous byte range of the
// file, mapped as it is); one that consumes them is split by columns (each row's slice gathered
// into a scratch file once); a bias added after the ranks' partial sums are reduced is held by
// rank 0 alone (zeros elsewhere); everything else is replicated. An FP8 block-scaled matrix splits
// on whole 128-blocks, its weight_scale_inv (which the architecture's rule names alike) with it.
import { ModelFormatError } from '../formats/errors.js';
import { isQuantDType, QUANT_BLOCKS, tensorByteSize } from '../formats/dtype.js';
import { ScratchTensors } from '../formats/scratch-tensors.js';
import type { TensorInfo } from '../formats/safetensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { FP8_BLOCK } from './weight-binder.js';

export type ShardRule = 'rows' | 'cols' | 'first-rank' | 'replicate';

export interface Shard {
  readonly rank: number;
  readonly size: number;
}

/** The store as rank `shard.rank` of `shard.size` sees it; `rule` says how each tensor splits. */
export function shardedTensors(store: TensorStore, shard: Shard, rule: (name: string) => ShardRule): TensorStore {
  const scratch = new ScratchTensors('tessera-shard-');
  const made = new Map<string, TensorInfo>();
  const fail = (t: TensorInfo, why: string): never => {
    throw new ModelFormatError(t.file, `cannot split over ${shard.size} ranks: ${why}`, { tensor: t.name });
  };
  const rowBytes = (t: TensorInfo): number => tensorByteSize(t.dtype, t.shape.slice(1).reduce((a, b) => a * b, 1));

  const view = (t: TensorInfo): TensorInfo | null => {
    const r = rule(t.name);
    if (r === 'replicate' || (r === 'first-rank' && shard.rank === 0)) return t;
    const rows = t.shape[0] ?? 0;
    if (r === 'rows') {
      if (rows % shard.size !== 0) fail(t, `${rows} rows`);
      const n = rows / shard.size;
      if (t.dtype === 'F8_E4M3' && n % FP8_BLOCK !== 0) fail(t, `${n} rows per rank are not whole ${FP8_BLOCK}-row blocks of its FP8 scales`);
      const bytes = t.shape.length === 1 ? tensorByteSize(t.dtype, n) : n * rowBytes(t);
      return { ...t, shape: [n, ...t.shape.slice(1)], offset: t.offset + shard.rank * bytes, byteLength: bytes };
    }
    return null; // 'cols' and the other ranks' 'first-rank' are computed
  };

  const computed = (t: TensorInfo): TensorInfo => {
    const hit = made.get(t.name);
    if (hit) return hit;
    const r = rule(t.name);
    let info: TensorInfo;
    if (r === 'first-rank') {
      info = scratch.add(t.name, t.dtype, t.shape, new Uint8Array(t.byteLength)); // zeros of every dtype
    } else {
      if (t.shape.length !== 2) fail(t, 'only matrices split by columns');
      const [rows, cols] = t.shape as [number, number];
      if (cols % shard.size !== 0) fail(t, `${cols} columns`);
      const n = cols / shard.size;
      if (isQuantDType(t.dtype) && n % QUANT_BLOCKS[t.dtype].elements !== 0) fail(t, `${n} columns per rank are not whole ${t.dtype} blocks`);
      if (t.dtype === 'F8_E4M3' && n % FP8_BLOCK !== 0) fail(t, `${n} columns per rank are not whole ${FP8_BLOCK}-column blocks of its FP8 scales`);
      const full = rowBytes(t);
      const part = tensorByteSize(t.dtype, n);
      const src = store.read(t.name);
      const out = new Uint8Array(rows * part);
      for (let i = 0; i < rows; i++) out.set(src.subarray(i * full + shard.rank * part, i * full + (shard.rank + 1) * part), i * part);
      info = scratch.add(t.name, t.dtype, [rows, n], out);
    }
    made.set(t.name, info);
    return info;
  };

  const info = (name: string): TensorInfo => {
    const t = store.info(name);
    return view(t) ?? computed(t);
  };
  return {
    source: store.source,
    has: (name) => store.has(name),
    info,
    read: (name) => {
      const t = store.info(name);
      const v = view(t);
      if (!v) {
        const c = computed(t);
        return scratch.read(c, 0, c.byteLength);
      }
      if (v === t) return store.read(name);
      const start = v.offset - t.offset;
      return store.readRange ? store.readRange(name, start, v.byteLength) : store.read(name).subarray(start, start + v.byteLength);
    },
    ...(store.fileName ? { fileName: store.fileName } : {}),
    names: () => store.names(),
    /** the scratch files only: the underlying store belongs to whoever opened it */
    close: () => scratch.close(),
  };
}
