// The reference backend: plain TypeScript over Float32Array, float64 accumulation. It is the oracle
// every other backend is checked against, so every op is written the obvious way.
import type { Backend } from '../../ops/backend.js';
import type { KvCache, KvCacheSpec } from '../../ops/kv-cache.js';
import type { SeqSlice, Step, StepInput } from '../../ops/step.js';
import type { ExpertShard, ExpertWeights, LinearMode, QuantTensor, Routing, RoutingParams, Selection, Tensor, Weight, WeightSpec } from '../../ops/tensors.js';
import { actQuant, fp8RoundTrip } from '../../numerics/fp8.js';
import { hadamardRows } from '../../numerics/hadamard.js';
import { RefKvCache, slotOf } from './ref-kv-cache.js';
import { RefQuant, RefRouting, RefSelection, RefTensor, RefWeight, asRef, asRefWeight } from './ref-tensor.js';
import { refProduct } from './ref-product.js';
import { attentionDecodeRef, attentionPrefillRef, gqaAttentionRef, indexerRowScores, indexerTopkRef } from './ref-attention.js';
import { bf16ToF32, f16ToF32, f32ToBf16, f32ToF16 } from '../../formats/dtype.js';
import type { IndexerArgs, RowInfo } from './ref-attention.js';
import { expertForward, routeRow, routeScores } from './ref-moe.js';
import type { RouteScores } from './ref-moe.js';

class RefStep implements Step {
  readonly rows: number;
  readonly prefillRows: number;
  readonly rowInfo: RowInfo[];

  constructor(readonly input: StepInput) {
    this.rows = input.tokens.length;
    this.rowInfo = new Array<RowInfo>(this.rows);
    let prefillRows = 0;
    let seenDecode = false;
    for (const s of input.seqs) {
      if (s.mode === 'prefill') {
        if (seenDecode) throw new Error('step slices must list prefill slices before decode slices');
        prefillRows += s.rows;
      } else seenDecode = true;
      for (let i = 0; i < s.rows; i++) this.rowInfo[s.rowStart + i] = { slice: s, pos: s.startPos + i };
    }
    for (let t = 0; t < this.rows; t++) if (!this.rowInfo[t]) throw new Error(`step row ${t} belongs to no sequence slice`);
    this.prefillRows = prefillRows;
  }
}

function tensor(rows: number, cols: number, data: Float32Array): RefTensor {
  return new RefTensor([rows, cols], data);
}

function asStep(s: Step): RefStep {
  if (!(s instanceof RefStep)) throw new Error('step does not belong to the ref backend');
  return s;
}

function asCache(c: KvCache): RefKvCache {
  if (!(c instanceof RefKvCache)) throw new Error('KV cache does not belong to the ref backend');
  return c;
}

export class RefBackend implements Backend {
  readonly name = 'ref';

  /** The reference implements every op. */
  supportsOp(): boolean {
    return true;
  }

  loadWeight(spec: WeightSpec): Weight {
    return new RefWeight(spec);
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    return new RefKvCache(spec);
  }

  beginStep(input: StepInput): Step {
    return new RefStep(input);
  }

  fromHost(data: Float32Array, rows: number, cols: number): Tensor {
    return tensor(rows, cols, data.slice());
  }

  embed(table: Weight, step: Step): Tensor {
    const w = asRefWeight(table);
    const [vocab, hidden] = w.shape as [number, number];
    const tokens = step.input.tokens;
    const out = new Float32Array(tokens.length * hidden);
    tokens.forEach((id, t) => {
      if (id < 0 || id >= vocab) throw new RangeError(`token id ${id} is outside the vocabulary (${vocab})`);
      w.decodeRow(id, out.subarray(t * hidden, (t + 1) * hidden));
    });
    return tensor(tokens.length, hidden, out);
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number): Tensor {
    const a = asRef(x);
    const w = asRefWeight(weight).toF32();
    const d = w.length;
    if (a.cols % d !== 0) throw new Error(`rmsNorm ${weight.name}: ${a.cols} columns are not groups of ${d}`);
    const out = new Float32Array(a.data.length);
    for (let o = 0; o < a.data.length; o += d) {
      let ss = 0;
      for (let i = 0; i < d; i++) ss += a.data[o + i]! ** 2;
      const inv = 1 / Math.sqrt(ss / d + eps);
      for (let i = 0; i < d; i++) out[o + i] = w[i]! * (a.data[o + i]! * inv);
    }
    return tensor(a.rows, a.cols, out);
  }

  layerNorm(x: Tensor, weight: Weight, bias: Weight, eps: number): Tensor {
    const a = asRef(x);
    const w = asRefWeight(weight).toF32();
    const b = asRefWeight(bias).toF32();
    const out = new Float32Array(a.data.length);
    for (let r = 0; r < a.rows; r++) {
      const o = r * a.cols;
      let mean = 0;
      for (let i = 0; i < a.cols; i++) mean += a.data[o + i]!;
      mean /= a.cols;
      let v = 0;
      for (let i = 0; i < a.cols; i++) v += (a.data[o + i]! - mean) ** 2;
      const inv = 1 / Math.sqrt(v / a.cols + eps);
      for (let i = 0; i < a.cols; i++) out[o + i] = (a.data[o + i]! - mean) * inv * w[i]! + b[i]!;
    }
    return tensor(a.rows, a.cols, out);
  }

  add(x: Tensor, y: Tensor): Tensor {
    const a = asRef(x);
    const b = asRef(y);
    if (a.data.length !== b.data.length) throw new Error(`add: shapes ${a.shape} and ${b.shape} differ`);
    return tensor(a.rows, a.cols, a.data.map((v, i) => v + b.data[i]!));
  }

  siluMul(gate: Tensor, up: Tensor): Tensor {
    const g = asRef(gate);
    const u = asRef(up);
    return tensor(g.rows, g.cols, g.data.map((v, i) => (v / (1 + Math.exp(-v))) * u.data[i]!));
  }

  narrow(x: Tensor, groups: number, start: number, len: number): Tensor {
    const a = asRef(x);
    const width = a.cols / groups;
    if (!Number.isInteger(width) || start + len > width) throw new Error(`narrow: [${start}, ${start + len}) of groups of ${width}`);
    const out = new Float32Array(a.rows * groups * len);
    for (let r = 0; r < a.rows; r++)
      for (let g = 0; g < groups; g++)
        out.set(a.data.subarray(r * a.cols + g * width + start, r * a.cols + g * width + start + len), (r * groups + g) * len);
    return tensor(a.rows, groups * len, out);
  }

  rows(x: Tensor, start: number, count: number): Tensor {
    const a = asRef(x);
    return tensor(count, a.cols, a.data.slice(start * a.cols, (start + count) * a.cols));
  }

  concatRows(parts: readonly Tensor[]): Tensor {
    const ts = parts.map(asRef);
    const cols = ts[0]?.cols ?? 0;
    const out = new Float32Array(ts.reduce((n, t) => n + t.data.length, 0));
    let o = 0;
    for (const t of ts) {
      if (t.cols !== cols) throw new Error(`concatRows: ${t.cols} columns vs ${cols}`);
      out.set(t.data, o);
      o += t.data.length;
    }
    return tensor(out.length / Math.max(cols, 1), cols, out);
  }

  linear(x: Tensor, w: Weight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain' = 'ue8m0', bias: Weight | null = null): Tensor {
    const a = asRef(x);
    const rw = asRefWeight(w);
    const n = rw.shape[0]!;
    const y = refProduct(a.data, a.rows, rw, mode, scaleFormat);
    if (bias) {
      const b = asRefWeight(bias).toF32();
      if (b.length !== n) throw new Error(`bias ${bias.name}: ${b.length} values for ${n} columns`);
      for (let i = 0; i < y.length; i++) y[i] = y[i]! + b[i % n]!;
    }
    return tensor(a.rows, n, y);
  }

  rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset = 0): Tensor {
    const a = asRef(x);
    const { ropeCos: cos, ropeSin: sin } = step.input;
    const half = ropeDim / 2;
    const width = a.cols / groups;
    const out = a.data.slice();
    for (let r = 0; r < a.rows; r++) {
      const tb = (rowOffset + r) * half;
      for (let g = 0; g < groups; g++) {
        const o = r * a.cols + g * width + start;
        for (let i = 0; i < half; i++) {
          // interleaved pairs (2i, 2i+1); half-split pairs (i, i + half)
          const [ia, ib] = layout === 'interleaved' ? [o + 2 * i, o + 2 * i + 1] : [o + i, o + i + half];
          const x0 = a.data[ia]!;
          const x1 = a.data[ib]!;
          const c = cos[tb + i]!;
          const s = sin[tb + i]!;
          out[ia] = x0 * c - x1 * s;
          out[ib] = x0 * s + x1 * c;
        }
      }
    }
    return tensor(a.rows, a.cols, out);
  }

  fp8RoundTrip(x: Tensor): Tensor {
    const a = asRef(x);
    return tensor(a.rows, a.cols, fp8RoundTrip(a.data, a.cols));
  }

  hadamardQuant(x: Tensor): QuantTensor {
    const a = asRef(x);
    const rotated = a.data.slice();
    hadamardRows(rotated, 128);
    const groups = a.cols / 128;
    const { values, scales } = actQuant(rotated, 128, 'ue8m0');
    return new RefQuant([a.rows, a.cols], values, scales.subarray(0, a.rows * groups));
  }

  writeLatentCache(cache: KvCache, layer: number, latent: Tensor, kpe: Tensor, step: Step): void {
    const c = asCache(cache);
    const { latentDim: r, ropeDim: rope, blockSize } = c.mla;
    const lat = asRef(latent);
    const pe = asRef(kpe);
    asStep(step).rowInfo.forEach(({ slice, pos }, t) => {
      const slot = slotOf(slice, pos, blockSize);
      c.latent[layer]!.set(lat.data.subarray(t * r, (t + 1) * r), slot * r);
      c.kpe[layer]!.set(pe.data.subarray(t * rope, (t + 1) * rope), slot * rope);
    });
  }

  writeIndexCache(cache: KvCache, layer: number, keys: QuantTensor, step: Step): void {
    const c = asCache(cache);
    const k = keys as RefQuant;
    const d = c.mla.indexDim;
    asStep(step).rowInfo.forEach(({ slice, pos }, t) => {
      const slot = slotOf(slice, pos, c.spec.blockSize);
      c.indexValues[layer]!.set(k.values.subarray(t * d, (t + 1) * d), slot * d);
      c.indexScales[layer]![slot] = k.scales[t]!;
    });
  }

  indexerTopk(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, topk: number, step: Step): Selection {
    const args = this.indexerArgs(cache, layer, q, w, wScale, topk, step);
    return new RefSelection([args.rows.length, topk], indexerTopkRef(args));
  }

  /** The indexer scores of step row `row` over its keys (what indexerTopk ranks), float64. */
  indexerScores(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, step: Step, row: number): Float64Array {
    return indexerRowScores(this.indexerArgs(cache, layer, q, w, wScale, 0, step), row);
  }

  private indexerArgs(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, topk: number, step: Step): IndexerArgs {
    const rq = q as RefQuant;
    const hw = asRef(w);
    return { cache: asCache(cache), layer, qValues: rq.values, qScales: rq.scales, w: hw.data, wScale, heads: hw.cols, topk, rows: asStep(step).rowInfo };
  }

  writeKvCache(cache: KvCache, layer: number, k: Tensor, v: Tensor, step: Step): void {
    const c = asCache(cache);
    const { kvHeads, headDim, blockSize, dtype } = c.gqa;
    const width = kvHeads * headDim;
    const [ka, va] = [asRef(k), asRef(v)];
    if (ka.cols !== width || va.cols !== width) throw new Error(`writeKvCache: k/v have ${ka.cols}/${va.cols} columns, the cache ${width}`);
    const round = dtype === 'f32' ? (x: number) => x : dtype === 'bf16' ? (x: number) => bf16ToF32(f32ToBf16(x)) : (x: number) => f16ToF32(f32ToF16(x));
    asStep(step).rowInfo.forEach(({ slice, pos }, t) => {
      const slot = slotOf(slice, pos, blockSize);
      for (let i = 0; i < width; i++) {
        c.k[layer]![slot * width + i] = round(ka.data[t * width + i]!);
        c.v[layer]![slot * width + i] = round(va.data[t * width + i]!);
      }
    });
  }

  gqaAttention(cache: KvCache, layer: number, q: Tensor, scale: number, step: Step): Tensor {
    const c = asCache(cache);
    const qa = asRef(q);
    const { kvHeads, headDim } = c.gqa;
    const heads = qa.cols / headDim;
    if (!Number.isInteger(heads / kvHeads)) throw new Error(`gqaAttention: ${qa.cols} query columns are not a multiple of ${kvHeads} KV heads x ${headDim}`);
    return tensor(qa.rows, qa.cols, gqaAttentionRef({ cache: c, layer, q: qa.data, heads, scale, rows: asStep(step).rowInfo }));
  }

  gatherPrefillKeys(cache: KvCache, layer: number, step: Step): { latent: Tensor; kpe: Tensor } {
    const c = asCache(cache);
    const { latentDim: r, ropeDim: rope, blockSize } = c.mla;
    const slices = prefillSlices(asStep(step));
    const total = slices.reduce((n, s) => n + s.startPos + s.rows, 0);
    const lat = new Float32Array(total * r);
    const pe = new Float32Array(total * rope);
    let k = 0;
    for (const s of slices) {
      for (let pos = 0; pos < s.startPos + s.rows; pos++, k++) {
        const slot = slotOf(s, pos, blockSize);
        lat.set(c.latent[layer]!.subarray(slot * r, (slot + 1) * r), k * r);
        pe.set(c.kpe[layer]!.subarray(slot * rope, (slot + 1) * rope), k * rope);
      }
    }
    return { latent: tensor(total, r, lat), kpe: tensor(total, rope, pe) };
  }

  attentionPrefill(q: Tensor, kv: Tensor, kpe: Tensor, sel: Selection | null, scale: number, nope: number, step: Step): Tensor {
    const s = asStep(step);
    const qa = asRef(q);
    const kva = asRef(kv);
    const pe = asRef(kpe);
    const rope = pe.cols;
    const heads = qa.cols / (nope + rope);
    const v = kva.cols / heads - nope;
    const keyBase = new Map<SeqSlice, number>();
    let base = 0;
    for (const slice of prefillSlices(s)) {
      keyBase.set(slice, base);
      base += slice.startPos + slice.rows;
    }
    const rsel = sel as RefSelection | null;
    const out = attentionPrefillRef({
      q: qa.data,
      kv: kva.data,
      kpe: pe.data,
      heads,
      nope,
      rope,
      v,
      scale,
      sel: rsel?.indices ?? null,
      selK: rsel?.shape[1] ?? 0,
      rows: s.rowInfo.slice(0, s.prefillRows),
      keyBase,
    });
    return tensor(s.prefillRows, heads * v, out);
  }

  attentionDecode(cache: KvCache, layer: number, qLat: Tensor, qPe: Tensor, sel: Selection | null, scale: number, step: Step): Tensor {
    const s = asStep(step);
    const c = asCache(cache);
    const ql = asRef(qLat);
    const heads = ql.cols / c.mla.latentDim;
    const rsel = sel as RefSelection | null;
    const out = attentionDecodeRef({
      cache: c,
      layer,
      qLat: ql.data,
      qPe: asRef(qPe).data,
      heads,
      scale,
      sel: rsel?.indices ?? null,
      selK: rsel?.shape[1] ?? 0,
      rows: s.rowInfo.slice(s.prefillRows),
      selRowOffset: s.prefillRows,
    });
    return tensor(ql.rows, ql.cols, out);
  }

  absorbQuery(qNope: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    const q = asRef(qNope);
    const w = asRefWeight(kvB);
    const r = w.shape[1]!;
    const heads = q.cols / nope;
    const out = new Float32Array(q.rows * heads * r);
    const acc = new Float64Array(r);
    const row = new Float32Array(r);
    for (let t = 0; t < q.rows; t++) {
      for (let h = 0; h < heads; h++) {
        acc.fill(0);
        for (let d = 0; d < nope; d++) {
          w.decodeRow(h * (nope + v) + d, row);
          const qd = q.data[(t * heads + h) * nope + d]!;
          for (let c = 0; c < r; c++) acc[c] = acc[c]! + qd * row[c]!;
        }
        out.set(acc, (t * heads + h) * r);
      }
    }
    return tensor(q.rows, heads * r, out);
  }

  absorbOutput(oLat: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    const o = asRef(oLat);
    const w = asRefWeight(kvB);
    const r = w.shape[1]!;
    const heads = o.cols / r;
    const out = new Float32Array(o.rows * heads * v);
    const row = new Float32Array(r);
    for (let h = 0; h < heads; h++) {
      for (let j = 0; j < v; j++) {
        w.decodeRow(h * (nope + v) + nope + j, row);
        for (let t = 0; t < o.rows; t++) {
          let acc = 0;
          const base = (t * heads + h) * r;
          for (let c = 0; c < r; c++) acc += o.data[base + c]! * row[c]!;
          out[(t * heads + h) * v + j] = acc;
        }
      }
    }
    return tensor(o.rows, heads * v, out);
  }

  /** Router scores, biased choice values and group ranking of row `row` (what route ranks). */
  routeScores(logits: Tensor, bias: Weight | null, params: RoutingParams, row: number): RouteScores {
    const l = asRef(logits);
    return routeScores(l.data.subarray(row * l.cols, (row + 1) * l.cols), bias ? asRefWeight(bias).toF32() : null, params);
  }

  route(logits: Tensor, bias: Weight | null, params: RoutingParams): Routing {
    const l = asRef(logits);
    const b = bias ? asRefWeight(bias).toF32() : null;
    const experts = new Int32Array(l.rows * params.topk);
    const weights = new Float32Array(l.rows * params.topk);
    for (let t = 0; t < l.rows; t++) {
      const r = routeRow(l.data.subarray(t * l.cols, (t + 1) * l.cols), b, params);
      experts.set(r.experts, t * params.topk);
      weights.set(r.weights, t * params.topk);
    }
    return new RefRouting(l.rows, params.topk, experts, weights);
  }

  moe(x: Tensor, routing: Routing, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat: 'ue8m0' | 'plain' = 'ue8m0', shard?: ExpertShard): Tensor {
    const a = asRef(x);
    const r = routing as RefRouting;
    const y = new Float32Array(a.data.length);
    const first = shard?.first ?? 0;
    // Experts in ascending id order, each on the rows routed to it (as DeepSeek's reference does).
    for (let e = 0; e < experts.length; e++) {
      const hits: Array<[number, number]> = [];
      for (let i = 0; i < r.experts.length; i++) if (r.experts[i] === first + e) hits.push([Math.floor(i / r.topk), r.weights[i]!]);
      if (hits.length === 0) continue;
      const xs = new Float32Array(hits.length * a.cols);
      hits.forEach(([row], j) => xs.set(a.data.subarray(row * a.cols, (row + 1) * a.cols), j * a.cols));
      const ys = expertForward(xs, hits.length, experts[e]!, mode, scaleFormat);
      hits.forEach(([row, w], j) => {
        for (let i = 0; i < a.cols; i++) y[row * a.cols + i] = Math.fround(y[row * a.cols + i]! + ys[j * a.cols + i]! * w);
      });
    }
    return tensor(a.rows, a.cols, y);
  }

  gatherRows(x: Tensor, rows: Int32Array): Tensor {
    const a = asRef(x);
    const out = new Float32Array(rows.length * a.cols);
    rows.forEach((r, i) => out.set(a.data.subarray(r * a.cols, (r + 1) * a.cols), i * a.cols));
    return tensor(rows.length, a.cols, out);
  }

  async read(x: Tensor): Promise<Float32Array> {
    return asRef(x).data.slice();
  }

  async argmax(x: Tensor): Promise<Int32Array> {
    const a = asRef(x);
    const out = new Int32Array(a.rows);
    for (let r = 0; r < a.rows; r++) {
      let best = 0;
      for (let c = 1; c < a.cols; c++) if (a.data[r * a.cols + c]! > a.data[r * a.cols + best]!) best = c;
      out[r] = best;
    }
    return out;
  }

  async readSelection(sel: Selection): Promise<Int32Array> {
    return (sel as RefSelection).indices.slice();
  }

  async readQuant(q: QuantTensor): Promise<{ values: Float32Array; scales: Float32Array }> {
    const r = q as RefQuant;
    return { values: r.values.slice(), scales: r.scales.slice() };
  }

  async readRouting(r: Routing): Promise<{ experts: Int32Array; weights: Float32Array }> {
    const rr = r as RefRouting;
    return { experts: rr.experts.slice(), weights: rr.weights.slice() };
  }

  dispose(): void {}
}

function prefillSlices(s: RefStep): SeqSlice[] {
  return s.input.seqs.filter((x) => x.mode === 'prefill');
}
