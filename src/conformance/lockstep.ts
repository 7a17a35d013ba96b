// A backend that runs a model on the device under test and checks every op against the reference
// backend on the very same inputs: after each step, every op the model called is replayed on `ref`
// with the DUT's own input values (read back), and the two outputs are compared with the op's
// tolerance. A whole-model run thus tests each kernel at the shapes the model really uses, and a
// rounding-boundary flip in one op (two correct float32 implementations rounding a value to
// neighbouring e4m3 codes) cannot cascade into a false alarm downstream.
import type { Backend, OpName } from '../ops/backend.js';
import type { KvCache, KvCacheSpec } from '../ops/kv-cache.js';
import type { Step, StepInput } from '../ops/step.js';
import type { ExpertShard, ExpertWeights, LinearMode, QuantTensor, Routing, RoutingParams, Selection, Tensor, Weight, WeightDType, WeightSpec } from '../ops/tensors.js';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { RefQuant, RefRouting, RefSelection, RefTensor } from '../backends/ref/ref-tensor.js';
import { OP_TOLERANCE, compareClose, compareExact, compareQuant } from './compare.js';
import type { Comparison } from './compare.js';

/** Scores closer than this (relative to the row's largest) are a tie two correct backends may break differently. */
const TIE = 1e-5;

export interface OpCheck extends Comparison {
  readonly op: string;
  /** step number (0-based) and the op's index within the step */
  readonly step: number;
  readonly index: number;
}

export interface OpSummary {
  readonly op: string;
  readonly calls: number;
  /** the largest deviation seen and its tolerance (the check with the largest deviation/tolerance) */
  readonly worst: number;
  readonly tolerance: number;
  readonly failures: number;
  /** selection/routing rows the DUT broke a near-tie differently on (allowed) */
  readonly ties: number;
}

type Replay = () => Promise<void>;

export class LockstepBackend implements Backend {
  readonly name: string;
  readonly ref = new RefBackend();
  private readonly weights = new Map<Weight, Weight>();
  private readonly caches = new Map<KvCache, KvCache>();
  private readonly steps = new Map<Step, Step>();
  private readonly converted = new Map<object, Promise<unknown>>();
  private queue: Array<{ op: string; replay: Replay }> = [];
  private stepNo = -1;
  private readonly summaries = new Map<string, { calls: number; worst: number; tolerance: number; ratio: number; failures: number; ties: number }>();
  /** every failed check, in order */
  readonly failures: OpCheck[] = [];

  constructor(readonly dut: Backend) {
    this.name = `lockstep(${dut.name})`;
  }

  supportsOp(op: OpName): boolean {
    return this.dut.supportsOp(op) && this.ref.supportsOp();
  }

  /** Per-op summaries of everything verified so far. */
  summary(): OpSummary[] {
    return [...this.summaries].map(([op, s]) => ({ op, calls: s.calls, worst: s.worst, tolerance: s.tolerance, failures: s.failures, ties: s.ties }));
  }

  /** Replays the current step's ops on the reference and compares; call after each forward. */
  async verify(): Promise<void> {
    const queue = this.queue;
    this.queue = [];
    try {
      for (const { replay } of queue) await replay();
    } finally {
      this.converted.clear();
    }
  }

  // ---- bookkeeping -----------------------------------------------------------------------------
  private record(op: string, index: number, c: Comparison, tie = false): void {
    const s = this.summaries.get(op) ?? { calls: 0, worst: 0, tolerance: c.tolerance, ratio: -1, failures: 0, ties: 0 };
    s.calls++;
    const ratio = c.tolerance > 0 ? c.deviation / c.tolerance : c.deviation > 0 ? Infinity : 0;
    if (ratio > s.ratio) {
      s.ratio = ratio;
      s.worst = c.deviation;
      s.tolerance = c.tolerance;
    }
    if (tie) s.ties++;
    if (!c.pass) {
      s.failures++;
      this.failures.push({ ...c, op, step: this.stepNo, index });
    }
    this.summaries.set(op, s);
  }

  /** Queue a replay: `run` computes the reference output from converted inputs and compares. */
  private later(op: string, run: (index: number) => Promise<void>): void {
    const index = this.queue.length;
    this.queue.push({ op, replay: () => run(index) });
  }

  private memo<T>(key: object, make: () => Promise<T>): Promise<T> {
    let p = this.converted.get(key) as Promise<T> | undefined;
    if (!p) {
      p = make();
      this.converted.set(key, p);
    }
    return p;
  }

  private t(x: Tensor): Promise<RefTensor> {
    return this.memo(x, async () => new RefTensor([x.shape[0]!, x.shape[1]!], await this.dut.read(x)));
  }
  private q(x: QuantTensor): Promise<RefQuant> {
    return this.memo(x, async () => {
      const { values, scales } = await this.dut.readQuant(x);
      return new RefQuant([x.shape[0]!, x.shape[1]!], values, scales);
    });
  }
  private sel(x: Selection): Promise<RefSelection> {
    return this.memo(x, async () => new RefSelection([x.shape[0]!, x.shape[1]!], await this.dut.readSelection(x)));
  }
  private routing(x: Routing): Promise<RefRouting> {
    return this.memo(x, async () => {
      const { experts, weights } = await this.dut.readRouting(x);
      return new RefRouting(x.rows, x.topk, experts, weights);
    });
  }
  private w(x: Weight): Weight {
    const r = this.weights.get(x);
    if (!r) throw new Error(`weight ${x.name} was not loaded through the lockstep backend`);
    return r;
  }
  private cache(x: KvCache): KvCache {
    const r = this.caches.get(x);
    if (!r) throw new Error('KV cache was not created through the lockstep backend');
    return r;
  }
  private step(x: Step): Step {
    const r = this.steps.get(x);
    if (!r) throw new Error('step was not begun through the lockstep backend');
    return r;
  }

  /** A tensor op: DUT result now, reference replay on the DUT's inputs later. */
  private tensorOp(op: string, out: Tensor, reference: () => Promise<Tensor>, tolerance: number | 'exact'): Tensor {
    this.later(op, async (index) => {
      const want = await this.ref.read(await reference());
      const got = await this.dut.read(out);
      this.record(op, index, tolerance === 'exact' ? compareExact(got, want) : compareClose(got, want, tolerance));
    });
    return out;
  }

  // ---- Backend ---------------------------------------------------------------------------------
  loadWeight(spec: WeightSpec): Weight {
    const w = this.dut.loadWeight(spec);
    this.weights.set(w, this.ref.loadWeight(spec));
    return w;
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    const c = this.dut.createKvCache(spec);
    this.caches.set(c, this.ref.createKvCache(spec));
    return c;
  }

  beginStep(input: StepInput, cache: KvCache): Step {
    if (this.queue.length > 0) throw new Error('lockstep: verify() the previous step before beginning the next');
    this.stepNo++;
    const s = this.dut.beginStep(input, cache);
    this.steps.clear();
    this.cache(cache);
    this.steps.set(s, this.ref.beginStep(input));
    return s;
  }

  fromHost(data: Float32Array, rows: number, cols: number): Tensor {
    return this.dut.fromHost(data, rows, cols);
  }

  embed(table: Weight, step: Step): Tensor {
    return this.tensorOp('embed', this.dut.embed(table, step), async () => this.ref.embed(this.w(table), this.step(step)), 'exact');
  }
  rmsNorm(x: Tensor, weight: Weight, eps: number): Tensor {
    return this.tensorOp('rmsNorm', this.dut.rmsNorm(x, weight, eps), async () => this.ref.rmsNorm(await this.t(x), this.w(weight), eps), OP_TOLERANCE.norm);
  }
  layerNorm(x: Tensor, weight: Weight, bias: Weight, eps: number): Tensor {
    return this.tensorOp('layerNorm', this.dut.layerNorm(x, weight, bias, eps), async () => this.ref.layerNorm(await this.t(x), this.w(weight), this.w(bias), eps), OP_TOLERANCE.norm);
  }
  add(a: Tensor, b: Tensor): Tensor {
    return this.tensorOp('add', this.dut.add(a, b), async () => this.ref.add(await this.t(a), await this.t(b)), OP_TOLERANCE.elementwise);
  }
  siluMul(gate: Tensor, up: Tensor): Tensor {
    return this.tensorOp('siluMul', this.dut.siluMul(gate, up), async () => this.ref.siluMul(await this.t(gate), await this.t(up)), OP_TOLERANCE.elementwise);
  }
  narrow(x: Tensor, groups: number, start: number, len: number): Tensor {
    return this.tensorOp('narrow', this.dut.narrow(x, groups, start, len), async () => this.ref.narrow(await this.t(x), groups, start, len), 'exact');
  }
  rows(x: Tensor, start: number, count: number): Tensor {
    return this.tensorOp('rows', this.dut.rows(x, start, count), async () => this.ref.rows(await this.t(x), start, count), 'exact');
  }
  concatRows(parts: readonly Tensor[]): Tensor {
    return this.tensorOp('concatRows', this.dut.concatRows(parts), async () => this.ref.concatRows(await Promise.all(parts.map((p) => this.t(p)))), 'exact');
  }
  linear(x: Tensor, w: Weight, mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain', bias: Weight | null = null): Tensor {
    const op = `linear ${w.dtype}${modeLabel(w.dtype, mode)}${bias ? ' + bias' : ''}`;
    return this.tensorOp(op, this.dut.linear(x, w, mode, scaleFormat, bias), async () => this.ref.linear(await this.t(x), this.w(w), mode, scaleFormat, bias ? this.w(bias) : null), OP_TOLERANCE.sum);
  }
  rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset?: number): Tensor {
    return this.tensorOp(`rope ${layout}`, this.dut.rope(x, groups, start, ropeDim, layout, step, rowOffset), async () => this.ref.rope(await this.t(x), groups, start, ropeDim, layout, this.step(step), rowOffset), OP_TOLERANCE.elementwise);
  }
  fp8RoundTrip(x: Tensor): Tensor {
    return this.tensorOp('fp8RoundTrip', this.dut.fp8RoundTrip(x), async () => this.ref.fp8RoundTrip(await this.t(x)), 'exact');
  }
  hadamardQuant(x: Tensor): QuantTensor {
    const out = this.dut.hadamardQuant(x);
    this.later('hadamardQuant', async (index) => {
      const want = await this.ref.readQuant(this.ref.hadamardQuant(await this.t(x)));
      const got = await this.dut.readQuant(out);
      this.record('hadamardQuant', index, compareQuant(got, want));
    });
    return out;
  }

  writeLatentCache(cache: KvCache, layer: number, latent: Tensor, kpe: Tensor, step: Step): void {
    this.dut.writeLatentCache(cache, layer, latent, kpe, step);
    // no output to compare: a wrong write shows in every later read of the cache
    this.later('writeLatentCache', async () => this.ref.writeLatentCache(this.cache(cache), layer, await this.t(latent), await this.t(kpe), this.step(step)));
  }
  writeIndexCache(cache: KvCache, layer: number, keys: QuantTensor, step: Step): void {
    this.dut.writeIndexCache(cache, layer, keys, step);
    this.later('writeIndexCache', async () => this.ref.writeIndexCache(this.cache(cache), layer, await this.q(keys), this.step(step)));
  }

  writeKvCache(cache: KvCache, layer: number, k: Tensor, v: Tensor, step: Step): void {
    this.dut.writeKvCache(cache, layer, k, v, step);
    this.later('writeKvCache', async () => this.ref.writeKvCache(this.cache(cache), layer, await this.t(k), await this.t(v), this.step(step)));
  }
  gqaAttention(cache: KvCache, layer: number, q: Tensor, scale: number, step: Step): Tensor {
    return this.tensorOp('gqaAttention', this.dut.gqaAttention(cache, layer, q, scale, step), async () => this.ref.gqaAttention(this.cache(cache), layer, await this.t(q), scale, this.step(step)), OP_TOLERANCE.sum);
  }

  indexerTopk(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, topk: number, step: Step): Selection {
    const out = this.dut.indexerTopk(cache, layer, q, w, wScale, topk, step);
    this.later('indexerTopk', async (index) => {
      const [rq, rw] = [await this.q(q), await this.t(w)];
      const want = await this.ref.readSelection(this.ref.indexerTopk(this.cache(cache), layer, rq, rw, wScale, topk, this.step(step)));
      const got = await this.dut.readSelection(out);
      const rows = out.shape[0]!;
      let wrong = 0;
      let ties = 0;
      for (let t = 0; t < rows; t++) {
        const a = sortedSet(got, t, topk);
        const b = sortedSet(want, t, topk);
        if (a.join() === b.join()) continue;
        const scores = this.ref.indexerScores(this.cache(cache), layer, rq, rw, wScale, this.step(step), t);
        if (isNearTie(scores, topk)) ties++;
        else wrong++;
      }
      this.record('indexerTopk', index, { deviation: wrong, tolerance: 0, pass: wrong === 0, detail: wrong ? `${wrong} of ${rows} rows select other keys` : undefined }, ties > 0);
    });
    return out;
  }

  gatherPrefillKeys(cache: KvCache, layer: number, step: Step): { latent: Tensor; kpe: Tensor } {
    const out = this.dut.gatherPrefillKeys(cache, layer, step);
    this.later('gatherPrefillKeys', async (index) => {
      const want = this.ref.gatherPrefillKeys(this.cache(cache), layer, this.step(step));
      const latent = compareExact(await this.dut.read(out.latent), await this.ref.read(want.latent));
      const kpe = compareExact(await this.dut.read(out.kpe), await this.ref.read(want.kpe));
      this.record('gatherPrefillKeys', index, latent.pass ? kpe : latent);
    });
    return out;
  }

  attentionPrefill(q: Tensor, kv: Tensor, kpe: Tensor, sel: Selection | null, scale: number, nope: number, step: Step): Tensor {
    const op = `attentionPrefill ${sel ? 'sparse' : 'dense'}`;
    return this.tensorOp(op, this.dut.attentionPrefill(q, kv, kpe, sel, scale, nope, step), async () => this.ref.attentionPrefill(await this.t(q), await this.t(kv), await this.t(kpe), sel ? await this.sel(sel) : null, scale, nope, this.step(step)), OP_TOLERANCE.sum);
  }
  attentionDecode(cache: KvCache, layer: number, qLat: Tensor, qPe: Tensor, sel: Selection | null, scale: number, step: Step): Tensor {
    const op = `attentionDecode ${sel ? 'sparse' : 'dense'}`;
    return this.tensorOp(op, this.dut.attentionDecode(cache, layer, qLat, qPe, sel, scale, step), async () => this.ref.attentionDecode(this.cache(cache), layer, await this.t(qLat), await this.t(qPe), sel ? await this.sel(sel) : null, scale, this.step(step)), OP_TOLERANCE.sum);
  }
  absorbQuery(qNope: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    return this.tensorOp('absorbQuery', this.dut.absorbQuery(qNope, kvB, nope, v), async () => this.ref.absorbQuery(await this.t(qNope), this.w(kvB), nope, v), OP_TOLERANCE.sum);
  }
  absorbOutput(oLat: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    return this.tensorOp('absorbOutput', this.dut.absorbOutput(oLat, kvB, nope, v), async () => this.ref.absorbOutput(await this.t(oLat), this.w(kvB), nope, v), OP_TOLERANCE.sum);
  }

  route(logits: Tensor, bias: Weight | null, params: RoutingParams): Routing {
    const out = this.dut.route(logits, bias, params);
    this.later('route', async (index) => {
      const l = await this.t(logits);
      const rb = bias ? this.w(bias) : null;
      const want = await this.ref.readRouting(this.ref.route(l, rb, params));
      const got = await this.dut.readRouting(out);
      const k = params.topk;
      let wrong = 0;
      let ties = 0;
      let weightDev = 0;
      for (let t = 0; t < out.rows; t++) {
        const a = sortedSet(got.experts, t, k);
        if (a.join() !== sortedSet(want.experts, t, k).join()) {
          if (isRouteTie(this.ref.routeScores(l, rb, params, t), params)) ties++;
          else wrong++;
          continue;
        }
        for (let j = 0; j < k; j++) weightDev = Math.max(weightDev, Math.abs(got.weights[t * k + j]! - want.weights[t * k + j]!));
      }
      const tol = OP_TOLERANCE.elementwise * Math.max(1, params.scalingFactor);
      const pass = wrong === 0 && weightDev <= tol;
      this.record('route', index, { deviation: wrong > 0 ? Infinity : weightDev, tolerance: tol, pass, detail: wrong ? `${wrong} of ${out.rows} rows choose other experts` : undefined }, ties > 0);
    });
    return out;
  }

  moe(x: Tensor, routing: Routing, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat?: 'ue8m0' | 'plain', shard?: ExpertShard): Tensor {
    const refExperts = experts.map((e) => ({ gate: this.w(e.gate), up: this.w(e.up), down: this.w(e.down) }));
    const dtype = experts[0]?.gate.dtype;
    const tol = mode === 'fp8-act' ? OP_TOLERANCE.fp8ActMoe : mode === 'ggml' ? OP_TOLERANCE.ggmlMoe : OP_TOLERANCE.sum;
    return this.tensorOp(`moe ${dtype ?? ''}${dtype ? modeLabel(dtype, mode) : ''}`, this.dut.moe(x, routing, experts, mode, scaleFormat, shard), async () => this.ref.moe(await this.t(x), await this.routing(routing), refExperts, mode, scaleFormat, shard), tol);
  }

  gatherRows(x: Tensor, rows: Int32Array): Tensor {
    return this.tensorOp('gatherRows', this.dut.gatherRows(x, rows), async () => this.ref.gatherRows(await this.t(x), rows), 'exact');
  }

  read(x: Tensor): Promise<Float32Array> {
    return this.dut.read(x);
  }
  argmax(x: Tensor): Promise<Int32Array> {
    return this.dut.argmax(x);
  }
  readSelection(sel: Selection): Promise<Int32Array> {
    return this.dut.readSelection(sel);
  }
  readQuant(q: QuantTensor): Promise<{ values: Float32Array; scales: Float32Array }> {
    return this.dut.readQuant(q);
  }
  readRouting(r: Routing): Promise<{ experts: Int32Array; weights: Float32Array }> {
    return this.dut.readRouting(r);
  }

  dispose(): void {
    this.dut.dispose();
    this.ref.dispose();
  }
}

/** The mode in an op's label where it changes the semantics: FP8 activations, llama.cpp's input conversion. */
function modeLabel(dtype: WeightDType, mode: LinearMode): string {
  if (mode === 'ggml') return ' ggml';
  return dtype === 'F8_E4M3' && mode === 'fp8-act' ? ' fp8-act' : dtype === 'F8_E4M3' ? ' plain' : '';
}

/** Row t of a [rows, k] index matrix as a sorted list. */
function sortedSet(m: Int32Array, t: number, k: number): number[] {
  return Array.from(m.subarray(t * k, (t + 1) * k)).sort((a, b) => a - b);
}

/** Whether the k-th and (k+1)-th best scores are within a tie of each other, so either choice is right. */
function isNearTie(scores: Float64Array, k: number): boolean {
  const sorted = Array.from(scores).sort((a, b) => b - a);
  if (sorted.length <= k) return false;
  const scale = Math.max(1e-30, Math.abs(sorted[0]!), Math.abs(sorted[sorted.length - 1]!));
  return sorted[k - 1]! - sorted[k]! <= TIE * scale;
}

/** Whether a router row sits on a tie: between the last kept and first dropped group, or the k-th and (k+1)-th expert. */
function isRouteTie(r: { choice: Float64Array; groupScores: readonly number[] }, p: RoutingParams): boolean {
  if (r.groupScores.length > p.topkGroup) {
    const g = [...r.groupScores].sort((a, b) => b - a);
    if (g[p.topkGroup - 1]! - g[p.topkGroup]! <= TIE * Math.max(1, Math.abs(g[0]!))) return true;
  }
  const c = Array.from(r.choice).filter((v) => v > -Infinity).sort((a, b) => b - a);
  return c.length > p.topk && c[p.topk - 1]! - c[p.topk]! <= TIE * Math.max(1, Math.abs(c[0]!));
}
