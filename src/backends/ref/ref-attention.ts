// Reference MLA attention (naive and absorbed forms) and the DSA lightning indexer, one query row
// at a time, float64 accumulation. Reads like the paper; speed is not a goal here.
import type { SeqSlice } from '../../ops/step.js';
import { slotOf } from './ref-kv-cache.js';
import type { RefKvCache } from './ref-kv-cache.js';

/** Per-row view of a step: which slice a row belongs to and its position. */
export interface RowInfo {
  readonly slice: SeqSlice;
  readonly pos: number;
}

/** Positions a query at `pos` attends to: all keys ≤ pos, or its selection (-1 padded). */
function keysOf(pos: number, sel: Int32Array | null, selRow: number, k: number): number[] {
  if (!sel) return Array.from({ length: pos + 1 }, (_, i) => i);
  const keys: number[] = [];
  for (let j = 0; j < k; j++) {
    const s = sel[selRow * k + j]!;
    if (s >= 0) keys.push(s);
  }
  return keys;
}

function softmaxInPlace(scores: Float64Array): void {
  let max = -Infinity;
  for (const s of scores) max = Math.max(max, s);
  let sum = 0;
  for (let i = 0; i < scores.length; i++) {
    scores[i] = Math.exp(scores[i]! - max);
    sum += scores[i]!;
  }
  for (let i = 0; i < scores.length; i++) scores[i] = scores[i]! / sum;
}

export interface PrefillArgs {
  /** [Tp, heads*(nope+rope)] */
  q: Float32Array;
  /** [K, heads*(nope+v)] decompressed keys/values of the gathered prefill keys */
  kv: Float32Array;
  /** [K, rope] */
  kpe: Float32Array;
  heads: number;
  nope: number;
  rope: number;
  v: number;
  scale: number;
  sel: Int32Array | null;
  selK: number;
  rows: readonly RowInfo[];
  /** offset of each prefill slice's keys in kv/kpe */
  keyBase: ReadonlyMap<SeqSlice, number>;
}

/** Naive (MHA) form: q·[k_nope, k_pe] over decompressed keys, softmax, weighted sum of v. -> [Tp, heads*v] */
export function attentionPrefillRef(a: PrefillArgs): Float32Array {
  const { heads, nope, rope, v } = a;
  const qd = nope + rope;
  const kvd = nope + v;
  const out = new Float32Array(a.rows.length * heads * v);
  for (let t = 0; t < a.rows.length; t++) {
    const { slice, pos } = a.rows[t]!;
    const base = a.keyBase.get(slice)!;
    const keys = keysOf(pos, a.sel, t, a.selK);
    for (let h = 0; h < heads; h++) {
      const qo = (t * heads + h) * qd;
      const scores = new Float64Array(keys.length);
      keys.forEach((key, i) => {
        const ko = ((base + key) * heads + h) * kvd;
        const po = (base + key) * rope;
        let s = 0;
        for (let d = 0; d < nope; d++) s += a.q[qo + d]! * a.kv[ko + d]!;
        for (let d = 0; d < rope; d++) s += a.q[qo + nope + d]! * a.kpe[po + d]!;
        scores[i] = s * a.scale;
      });
      softmaxInPlace(scores);
      const oo = (t * heads + h) * v;
      for (let d = 0; d < v; d++) {
        let acc = 0;
        keys.forEach((key, i) => (acc += scores[i]! * a.kv[((base + key) * heads + h) * kvd + nope + d]!));
        out[oo + d] = acc;
      }
    }
  }
  return out;
}

export interface DecodeArgs {
  cache: RefKvCache;
  layer: number;
  /** [Td, heads*r] */
  qLat: Float32Array;
  /** [Td, heads*rope] */
  qPe: Float32Array;
  heads: number;
  scale: number;
  sel: Int32Array | null;
  selK: number;
  /** the decode rows; selection rows are counted from `selRowOffset` */
  rows: readonly RowInfo[];
  selRowOffset: number;
}

/** Absorbed (MQA) form over the cached latents: softmax((q_lat·c + q_pe·k_pe)·scale)·c. -> [Td, heads*r] */
export function attentionDecodeRef(a: DecodeArgs): Float32Array {
  const { latentDim: r, ropeDim: rope, blockSize } = a.cache.mla;
  const lat = a.cache.latent[a.layer]!;
  const pe = a.cache.kpe[a.layer]!;
  const out = new Float32Array(a.rows.length * a.heads * r);
  for (let t = 0; t < a.rows.length; t++) {
    const { slice, pos } = a.rows[t]!;
    const slots = keysOf(pos, a.sel, a.selRowOffset + t, a.selK).map((k) => slotOf(slice, k, blockSize));
    for (let h = 0; h < a.heads; h++) {
      const qo = (t * a.heads + h) * r;
      const po = (t * a.heads + h) * rope;
      const scores = new Float64Array(slots.length);
      slots.forEach((slot, i) => {
        let s = 0;
        for (let d = 0; d < r; d++) s += a.qLat[qo + d]! * lat[slot * r + d]!;
        for (let d = 0; d < rope; d++) s += a.qPe[po + d]! * pe[slot * rope + d]!;
        scores[i] = s * a.scale;
      });
      softmaxInPlace(scores);
      for (let d = 0; d < r; d++) {
        let acc = 0;
        slots.forEach((slot, i) => (acc += scores[i]! * lat[slot * r + d]!));
        out[qo + d] = acc;
      }
    }
  }
  return out;
}

export interface IndexerArgs {
  cache: RefKvCache;
  layer: number;
  /** e4m3 values [T, heads*128] and scales [T, heads] */
  qValues: Float32Array;
  qScales: Float32Array;
  /** raw head weights [T, heads] (weights_proj output) */
  w: Float32Array;
  wScale: number;
  heads: number;
  topk: number;
  rows: readonly RowInfo[];
}

/** kScale · Σ_h relu(q8[h] · k8) · headWeight[h] for one query (q8: [heads, d]) and one key (k8: [d]). */
export function indexScore(q8: Float32Array, headWeight: ArrayLike<number>, k8: Float32Array, kScale: number): number {
  const d = k8.length;
  let sum = 0;
  for (let h = 0; h < headWeight.length; h++) {
    let dot = 0;
    for (let i = 0; i < d; i++) dot += q8[h * d + i]! * k8[i]!;
    if (dot > 0) sum += dot * headWeight[h]!;
  }
  return sum * kScale;
}

/**
 * score(t, s) = kScale[s] · Σ_h relu(q8[t,h]·k8[s]) · (w[t,h]·wScale·qScale[t,h]) for the keys
 * s ≤ pos of step row t. -> [pos + 1]
 */
export function indexerRowScores(a: IndexerArgs, t: number): Float64Array {
  const { indexDim: d, blockSize } = a.cache.mla;
  const kv = a.cache.indexValues[a.layer]!;
  const ks = a.cache.indexScales[a.layer]!;
  const { slice, pos } = a.rows[t]!;
  const hw = new Float64Array(a.heads);
  for (let h = 0; h < a.heads; h++) {
    hw[h] = Math.fround(Math.fround(a.w[t * a.heads + h]! * a.wScale) * a.qScales[t * a.heads + h]!);
  }
  const scores = new Float64Array(pos + 1);
  for (let s = 0; s <= pos; s++) {
    const slot = slotOf(slice, s, blockSize);
    scores[s] = indexScore(a.qValues.subarray(t * a.heads * d, (t + 1) * a.heads * d), hw, kv.subarray(slot * d, (slot + 1) * d), ks[slot]!);
  }
  return scores;
}

/**
 * The topk largest scores of each row (ties: lower position first), sorted by position; every key
 * when pos(t) < topk. -> [T, topk] int32, -1 padded
 */
export function indexerTopkRef(a: IndexerArgs): Int32Array {
  const out = new Int32Array(a.rows.length * a.topk).fill(-1);
  for (let t = 0; t < a.rows.length; t++) {
    const n = a.rows[t]!.pos + 1;
    if (n <= a.topk) {
      for (let s = 0; s < n; s++) out[t * a.topk + s] = s;
      continue;
    }
    const scores = indexerRowScores(a, t);
    const order = Array.from({ length: n }, (_, i) => i).sort((x, y) => scores[y]! - scores[x]! || x - y);
    const chosen = order.slice(0, a.topk).sort((x, y) => x - y);
    chosen.forEach((s, j) => (out[t * a.topk + j] = s));
  }
  return out;
}

export interface GqaArgs {
  cache: RefKvCache;
  layer: number;
  /** [T, heads*D] */
  q: Float32Array;
  heads: number;
  scale: number;
  rows: readonly RowInfo[];
}

/** Causal grouped-query attention of every row over its sequence's cached K/V. -> [T, heads*D] */
export function gqaAttentionRef(a: GqaArgs): Float32Array {
  const { kvHeads, headDim: D, blockSize } = a.cache.gqa;
  const group = a.heads / kvHeads;
  const K = a.cache.k[a.layer]!;
  const V = a.cache.v[a.layer]!;
  const width = kvHeads * D;
  const out = new Float32Array(a.rows.length * a.heads * D);
  for (let t = 0; t < a.rows.length; t++) {
    const { slice, pos } = a.rows[t]!;
    const slots = Array.from({ length: pos + 1 }, (_, s) => slotOf(slice, s, blockSize));
    for (let h = 0; h < a.heads; h++) {
      const kv = Math.floor(h / group) * D;
      const qo = (t * a.heads + h) * D;
      const scores = new Float64Array(slots.length);
      slots.forEach((slot, i) => {
        let s = 0;
        for (let d = 0; d < D; d++) s += a.q[qo + d]! * K[slot * width + kv + d]!;
        scores[i] = s * a.scale;
      });
      softmaxInPlace(scores);
      for (let d = 0; d < D; d++) {
        let acc = 0;
        slots.forEach((slot, i) => (acc += scores[i]! * V[slot * width + kv + d]!));
        out[qo + d] = acc;
      }
    }
  }
  return out;
}
