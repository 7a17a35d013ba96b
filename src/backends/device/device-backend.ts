// A Backend built from DSL kernels on any Device (cpu, js, webgpu): every op picks a kernel
// variant for its dtypes/shapes, allocates outputs from a per-step pool, and launches it.
import type { Backend } from '../../ops/backend.js';
import { gqaSpec, mlaSpec } from '../../ops/kv-cache.js';
import type { KvCache, KvCacheSpec } from '../../ops/kv-cache.js';
import type { Step, StepInput } from '../../ops/step.js';
import type { ExpertShard, ExpertWeights, LinearMode, QuantTensor, Routing, RoutingParams, Selection, Tensor, Weight, WeightSpec } from '../../ops/tensors.js';
import type { Kernel } from '../../dsl/ir.js';
import type { Device, DeviceBuffer, KernelArg } from './device.js';
import { KKvCache, KQuant, KRouting, KSelection, KTensor, KWeight, asK, asKW } from './device-tensors.js';
import { DeviceStep } from './device-step.js';
import * as ew from '../../kernels/elementwise.js';
import { actQuantKernel, hadamardQuantKernel } from '../../kernels/quant.js';
import { linearKernel, linearName } from '../../kernels/linear.js';
import type { LinearSpec } from '../../kernels/linear.js';
import { tileFor, withArgs } from './device-ops.js';
import { isQuantDType } from '../../formats/dtype.js';
import { VEC_DOT_TYPE } from '../../formats/gguf-act-quant.js';
import { gatherLatentKernel, writeIndexKernel, writeLatentKernel } from '../../kernels/kv-cache.js';
import { indexerScoresKernel, topkKernel } from '../../kernels/indexer.js';
import { indexerCFits, indexerScoresCKernel } from '../../kernels/indexer-c.js';
import { absorbOutputKernel, absorbQueryKernel, attentionDecodeKernel, attentionPrefillKernel } from '../../kernels/attention.js';
import { attentionDecodeCKernel, mlaDecodeCFits } from '../../kernels/attention-c.js';
import { routeKernel, routeName } from '../../kernels/moe.js';
import { runMoe } from './device-moe.js';
import { int8LinearInput, kernelMode, linearInput } from './linear-input.js';
import { int8LinearKernel, int8LinearName, int8Tile, isInt8DotDType } from '../../kernels/int8-linear.js';
import type { Int8DotDType } from '../../kernels/int8-linear.js';
import { gqaAttentionKernel, writeKvKernel } from '../../kernels/gqa-attention.js';
import type { DeviceOps } from './device-ops.js';

function asKStep(s: Step): DeviceStep {
  if (!(s instanceof DeviceStep)) throw new Error('step does not belong to this backend');
  return s;
}
function asKCache(c: KvCache): KKvCache {
  if (!(c instanceof KKvCache)) throw new Error('KV cache does not belong to this backend');
  return c;
}


export class DeviceBackend implements Backend {
  private readonly kernels = new Map<string, Kernel>();
  /** free device buffers by byte size, reused across steps */
  private readonly pool = new Map<number, DeviceBuffer[]>();
  private stepBuffers: DeviceBuffer[] = [];
  /** this step's int8-quantized inputs by tensor and activation type (int8Input) */
  private int8Inputs = new WeakMap<KTensor, Map<string, Record<string, KernelArg>>>();

  /** What op implementations in other files (MoE) use of this backend. */
  protected readonly ops: DeviceOps = {
    tensor: (rows, cols) => this.tensor(rows, cols),
    scratch: (bytes) => this.scratch(bytes),
    kernel: (key, build) => this.kernel(key, build),
    run: (kernel, args) => this.run(kernel, args),
    actQuant: (x, format) => this.actQuant(x, format),
    maxListBytes: () => this.device.maxListBytes ?? Infinity,
    laneExperts: () => this.laneExperts(),
    int8Dots: (dtype, mode): dtype is Int8DotDType => mode === 'ggml' && isInt8DotDType(dtype) && this.device.language === 'c',
    int8Input: (x, dtype, weight) => this.int8Input(x, dtype, weight),
    tile: (tokens, dtype) => tileFor(tokens, (this.device.vectorLanes ?? 0) >= 16 && !isQuantDType(dtype)),
  };

  constructor(
    readonly name: string,
    readonly device: Device,
  ) {}

  /** GPU backends run expert products of GGUF block weights one weight row per lane. */
  protected laneExperts(): boolean {
    return false;
  }

  /** Every op is built from DSL kernels that render for every device. */
  supportsOp(): boolean {
    return true;
  }

  // ---- plumbing ---------------------------------------------------------------------------------
  protected kernel(key: string, build: () => Kernel): Kernel {
    let k = this.kernels.get(key);
    if (!k) {
      k = build();
      this.kernels.set(key, k);
    }
    return k;
  }

  protected scratch(bytes: number): DeviceBuffer {
    const size = Math.max(64, 2 ** Math.ceil(Math.log2(Math.max(bytes, 1))));
    const free = this.pool.get(size);
    const buf = free?.pop() ?? this.device.alloc(size);
    this.stepBuffers.push(buf);
    return buf;
  }

  protected tensor(rows: number, cols: number): KTensor {
    return new KTensor(this.scratch(rows * cols * 4), [rows, cols]);
  }

  private uploadStep(data: Int32Array | Float32Array): DeviceBuffer {
    const b = this.scratch(data.byteLength);
    if (data.byteLength) this.device.upload(b, data);
    return b;
  }

  protected run(kernel: Kernel, args: Readonly<Record<string, KernelArg>>): void {
    this.device.run(kernel, args);
  }

  loadWeight(spec: WeightSpec): Weight {
    return new KWeight(this.device, spec);
  }

  createKvCache(spec: KvCacheSpec): KvCache {
    return new KKvCache(this.device, spec);
  }

  beginStep(input: StepInput, cache: KvCache): Step {
    for (const b of this.stepBuffers) {
      const list = this.pool.get(b.bytes) ?? [];
      list.push(b);
      this.pool.set(b.bytes, list);
    }
    this.stepBuffers = [];
    this.int8Inputs = new WeakMap();
    return new DeviceStep(input, cache.spec.blockSize, (d) => this.uploadStep(d));
  }

  fromHost(data: Float32Array, rows: number, cols: number): Tensor {
    const t = this.tensor(rows, cols);
    this.device.upload(t.buf, data);
    return t;
  }

  // ---- elementwise and normalization ---------------------------------------------------------
  embed(table: Weight, step: Step): Tensor {
    const w = asKW(table);
    const s = asKStep(step);
    const [, hidden] = w.shape as [number, number];
    const out = this.tensor(s.rows, hidden);
    const args: Record<string, KernelArg> = { ids: s.tokens, table: w.buf, out: out.buf, rows: s.rows, cols: hidden };
    if (w.dtype === 'F8_E4M3') args['scales'] = w.scales;
    this.run(this.kernel(`embed_${w.dtype}`, () => ew.embedKernel(w.dtype)), args);
    return out;
  }

  rmsNorm(x: Tensor, weight: Weight, eps: number): Tensor {
    const a = asK(x);
    const w = asKW(weight);
    const d = w.shape[0]!;
    if (a.cols % d !== 0) throw new Error(`rmsNorm ${w.name}: ${a.cols} columns are not groups of ${d}`);
    const y = this.tensor(a.rows, a.cols);
    // groups of d columns are rows of their own (contiguous), so a per-head norm is the same kernel
    this.run(this.kernel(`rmsnorm_${w.dtype}`, () => ew.rmsNormKernel(w.dtype)), { x: a.buf, w: w.buf, y: y.buf, rows: (a.rows * a.cols) / d, cols: d, eps });
    return y;
  }

  layerNorm(x: Tensor, weight: Weight, bias: Weight, eps: number): Tensor {
    const a = asK(x);
    const w = asKW(weight);
    const y = this.tensor(a.rows, a.cols);
    this.run(this.kernel(`layernorm_${w.dtype}`, () => ew.layerNormKernel(w.dtype)), { x: a.buf, w: w.buf, b: asKW(bias).buf, y: y.buf, rows: a.rows, cols: a.cols, eps });
    return y;
  }

  add(x: Tensor, y: Tensor): Tensor {
    const a = asK(x);
    const out = this.tensor(a.rows, a.cols);
    this.run(this.kernel('add', ew.addKernel), { a: a.buf, b: asK(y).buf, y: out.buf, n: a.rows * a.cols });
    return out;
  }

  siluMul(gate: Tensor, up: Tensor): Tensor {
    const g = asK(gate);
    const out = this.tensor(g.rows, g.cols);
    this.run(this.kernel('silu_mul', ew.siluMulKernel), { g: g.buf, u: asK(up).buf, y: out.buf, n: g.rows * g.cols });
    return out;
  }

  narrow(x: Tensor, groups: number, start: number, len: number): Tensor {
    const a = asK(x);
    const out = this.tensor(a.rows, groups * len);
    this.run(this.kernel('narrow', ew.narrowKernel), { x: a.buf, y: out.buf, rows: a.rows, cols: a.cols, groups, start, len });
    return out;
  }

  private copy(src: KTensor, srcRow: number, dst: KTensor, dstRow: number, rows: number): void {
    const n = rows * src.cols;
    if (n > 0) this.run(this.kernel('copy', ew.copyKernel), { src: src.buf, dst: dst.buf, n, src_off: srcRow * src.cols, dst_off: dstRow * dst.cols });
  }

  rows(x: Tensor, start: number, count: number): Tensor {
    const a = asK(x);
    const out = this.tensor(count, a.cols);
    this.copy(a, start, out, 0, count);
    return out;
  }

  concatRows(parts: readonly Tensor[]): Tensor {
    const ts = parts.map(asK);
    const out = this.tensor(
      ts.reduce((n, t) => n + t.rows, 0),
      ts[0]?.cols ?? 0,
    );
    let row = 0;
    for (const t of ts) {
      this.copy(t, 0, out, row, t.rows);
      row += t.rows;
    }
    return out;
  }

  gatherRows(x: Tensor, rows: Int32Array): Tensor {
    const a = asK(x);
    const out = this.tensor(rows.length, a.cols);
    this.run(this.kernel('gather_rows', ew.gatherRowsKernel), { x: a.buf, idx: this.uploadStep(rows), y: out.buf, rows: rows.length, cols: a.cols });
    return out;
  }

  // ---- linear ---------------------------------------------------------------------------------
  /** x quantized per row and 128-block: e4m3 values (f32) and scales. */
  protected actQuant(x: KTensor, format: 'ue8m0' | 'plain'): { values: KTensor; scales: DeviceBuffer } {
    const values = this.tensor(x.rows, x.cols);
    const scales = this.scratch(x.rows * Math.ceil(x.cols / 128) * 4);
    this.run(this.kernel(`act_quant_${format}`, () => actQuantKernel(format, false)), { x: x.buf, y: values.buf, scales, rows: x.rows, cols: x.cols });
    return { values, scales };
  }

  linear(x: Tensor, weight: Weight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain' = 'ue8m0', bias: Weight | null = null): Tensor {
    const y = this.product(x, weight, mode, scaleFormat);
    return bias ? this.addBias(y, bias) : y;
  }

  /** y [R, C] + bias [C] */
  protected addBias(y: KTensor, bias: Weight): KTensor {
    const b = asKW(bias);
    if (b.shape[0] !== y.cols) throw new Error(`bias ${b.name}: ${b.shape[0]} values for ${y.cols} columns`);
    const out = this.tensor(y.rows, y.cols);
    this.run(this.kernel(`add_bias_${b.dtype}`, () => ew.addBiasKernel(b.dtype)), { x: y.buf, bias: b.buf, y: out.buf, n: y.rows * y.cols, cols: y.cols });
    return out;
  }

  /**
   * x quantized for an int8 product, once per tensor and activation type within a step: the q, k
   * and v projections (gate and up) read the same input.
   */
  private int8Input(x: KTensor, dtype: Int8DotDType, weight: string): Record<string, KernelArg> {
    const byType = this.int8Inputs.get(x) ?? new Map<string, Record<string, KernelArg>>();
    this.int8Inputs.set(x, byType);
    const act = VEC_DOT_TYPE[dtype];
    let args = byType.get(act);
    if (!args) {
      args = int8LinearInput(this.ops, x, dtype, weight);
      byType.set(act, args);
    }
    return args;
  }

  /** y = x · W^T */
  protected product(x: Tensor, weight: Weight, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain'): KTensor {
    const a = asK(x);
    const w = asKW(weight);
    const [n, k] = w.shape as [number, number];
    if (a.cols !== k) throw new Error(`linear ${w.name}: input has ${a.cols} columns, weight ${k}`);
    const kMode = kernelMode(w.dtype, mode, w.name);
    const y = this.tensor(a.rows, n);
    const dtype = w.dtype;
    if (this.ops.int8Dots(dtype, kMode)) {
      const tile = int8Tile(a.rows);
      const args: Record<string, KernelArg> = { w: w.buf, y: y.buf, t: a.rows, n, k };
      withArgs(args, this.int8Input(a, dtype, w.name));
      this.run(this.kernel(int8LinearName(dtype, tile), () => int8LinearKernel(dtype, tile)), args);
      return y;
    }
    const spec: LinearSpec = { dtype: w.dtype, mode: kMode, tile: this.ops.tile(a.rows, w.dtype) };
    const args = linearInput(this.ops, a, w.dtype, mode, scaleFormat, w.name); // a fresh record: filled in, not copied
    args['w'] = w.buf;
    args['y'] = y.buf;
    args['t'] = a.rows;
    args['n'] = n;
    args['k'] = k;
    if (w.dtype === 'F8_E4M3') args['w_scales'] = w.scales;
    this.run(this.kernel(linearName(spec), () => linearKernel(spec)), args);
    return y;
  }

  // ---- rotary, quantization -----------------------------------------------------------------
  rope(x: Tensor, groups: number, start: number, ropeDim: number, layout: 'interleaved' | 'half', step: Step, rowOffset = 0): Tensor {
    const a = asK(x);
    const s = asKStep(step);
    const y = this.tensor(a.rows, a.cols);
    this.run(this.kernel(`rope_${layout}`, () => ew.ropeKernel(layout)), {
      x: a.buf,
      cos: s.cos,
      sin: s.sin,
      y: y.buf,
      rows: a.rows,
      cols: a.cols,
      groups,
      start,
      half: ropeDim / 2,
      row_offset: rowOffset,
    });
    return y;
  }

  fp8RoundTrip(x: Tensor): Tensor {
    const a = asK(x);
    const y = this.tensor(a.rows, a.cols);
    this.run(this.kernel('fp8_round_trip', () => actQuantKernel('ue8m0', true)), { x: a.buf, y: y.buf, rows: a.rows, cols: a.cols });
    return y;
  }

  hadamardQuant(x: Tensor): QuantTensor {
    const a = asK(x);
    const values = this.tensor(a.rows, a.cols);
    const vectors = (a.rows * a.cols) / 128;
    const scales = this.scratch(vectors * 4);
    this.run(this.kernel('hadamard_quant', hadamardQuantKernel), { x: a.buf, y: values.buf, scales, vectors });
    return new KQuant(values, scales);
  }

  // ---- attention -----------------------------------------------------------------------------
  writeLatentCache(cache: KvCache, layer: number, latent: Tensor, kpe: Tensor, step: Step): void {
    const c = asKCache(cache);
    const s = asKStep(step);
    const spec = mlaSpec(c.spec);
    const fmt = spec.latentFormat;
    const args: Record<string, KernelArg> = {
      latent: asK(latent).buf,
      kpe: asK(kpe).buf,
      slots: s.slots,
      cache_latent: c.latent[layer]!,
      cache_pe: c.pe[layer]!,
      rows: s.rows,
      r: spec.latentDim,
      rope: spec.ropeDim,
    };
    if (fmt === 'fp8') args['cache_scales'] = c.latentScales[layer]!;
    this.run(this.kernel(`write_latent_${fmt}`, () => writeLatentKernel(fmt)), args);
  }

  writeIndexCache(cache: KvCache, layer: number, keys: QuantTensor, step: Step): void {
    const c = asKCache(cache);
    const q = keys as KQuant;
    const s = asKStep(step);
    this.run(this.kernel('write_index', writeIndexKernel), {
      values: q.values.buf,
      scales: q.scales,
      slots: s.slots,
      cache_codes: c.indexCodes[layer]!,
      cache_scales: c.indexScales[layer]!,
      rows: s.rows,
    });
  }

  indexerTopk(cache: KvCache, layer: number, q: QuantTensor, w: Tensor, wScale: number, topk: number, step: Step): Selection {
    const c = asKCache(cache);
    const s = asKStep(step);
    const quant = q as KQuant;
    const heads = asK(w).cols;
    const sel = new KSelection(this.scratch(s.rows * topk * 4), [s.rows, topk]);
    const keys = s.maxKeys;
    const scores = this.scratch(s.rows * keys * 4);
    if (keys > topk) {
      const args: Record<string, KernelArg> = {
        q: quant.values.buf,
        q_scales: quant.scales,
        w: asK(w).buf,
        codes: c.indexCodes[layer]!,
        k_scales: c.indexScales[layer]!,
        row_seq: s.rowSeqBuf,
        row_pos: s.rowPosBuf,
        tables: s.tables,
        scores,
        rows: s.rows,
        keys,
        w_scale: wScale,
        block_size: s.blockSize,
        max_blocks: s.maxBlocks,
      };
      if (this.device.language === 'c' && indexerCFits(heads)) {
        args['heads'] = heads;
        this.run(this.kernel('indexer_scores_c', indexerScoresCKernel), args);
      } else {
        this.run(this.kernel(`indexer_scores_${heads}`, () => indexerScoresKernel(heads)), args);
      }
    }
    this.run(this.kernel('topk_select', topkKernel), { scores, row_pos: s.rowPosBuf, sel: sel.buf, rows: s.rows, keys, topk });
    return sel;
  }

  gatherPrefillKeys(cache: KvCache, layer: number, step: Step): { latent: Tensor; kpe: Tensor } {
    const c = asKCache(cache);
    const s = asKStep(step);
    const { latentDim: r, ropeDim: rope, latentFormat: fmt } = mlaSpec(c.spec);
    const keys = s.prefillKeyCount;
    const latent = this.tensor(keys, r);
    const kpe = this.tensor(keys, rope);
    const args: Record<string, KernelArg> = { slots: s.prefillKeySlots, cache_latent: c.latent[layer]!, cache_pe: c.pe[layer]!, latent: latent.buf, kpe: kpe.buf, keys, r, rope };
    if (fmt === 'fp8') args['cache_scales'] = c.latentScales[layer]!;
    this.run(this.kernel(`gather_latent_${fmt}`, () => gatherLatentKernel(fmt)), args);
    return { latent, kpe };
  }

  attentionPrefill(q: Tensor, kv: Tensor, kpe: Tensor, sel: Selection | null, scale: number, nope: number, step: Step): Tensor {
    const s = asKStep(step);
    const qa = asK(q);
    const pe = asK(kpe);
    const rope = pe.cols;
    const heads = qa.cols / (nope + rope);
    const v = asK(kv).cols / heads - nope;
    const topk = sel ? sel.shape[1]! : 0;
    const maxKeys = sel ? topk : s.maxKeys;
    const out = this.tensor(s.prefillRows, heads * v);
    const sparse = sel !== null;
    const args: Record<string, KernelArg> = {
      q: qa.buf,
      kv: asK(kv).buf,
      kpe: pe.buf,
      row_pos: s.rowPosBuf,
      row_key_base: s.prefillKeyBase,
      scratch: this.scratch(s.prefillRows * heads * maxKeys * 4),
      out: out.buf,
      rows: s.prefillRows,
      heads,
      topk,
      max_keys: maxKeys,
      scale,
    };
    if (sel) args['sel'] = (sel as KSelection).buf;
    this.run(this.kernel(`attn_prefill_${nope}_${rope}_${v}_${sparse}`, () => attentionPrefillKernel(nope, rope, v, sparse)), args);
    return out;
  }

  attentionDecode(cache: KvCache, layer: number, qLat: Tensor, qPe: Tensor, sel: Selection | null, scale: number, step: Step): Tensor {
    const c = asKCache(cache);
    const s = asKStep(step);
    const ql = asK(qLat);
    const spec = mlaSpec(c.spec);
    const r = spec.latentDim;
    const heads = ql.cols / r;
    const topk = sel ? sel.shape[1]! : 0;
    const maxKeys = sel ? topk : s.maxKeys;
    const out = this.tensor(ql.rows, ql.cols);
    const fmt = spec.latentFormat;
    const sparse = sel !== null;
    const args: Record<string, KernelArg> = {
      q_lat: ql.buf,
      q_pe: asK(qPe).buf,
      cache_latent: c.latent[layer]!,
      cache_pe: c.pe[layer]!,
      row_seq: s.rowSeqBuf,
      row_pos: s.rowPosBuf,
      tables: s.tables,
      out: out.buf,
      rows: ql.rows,
      heads,
      rope: spec.ropeDim,
      row_base: s.prefillRows,
      topk,
      max_keys: maxKeys,
      scale,
      block_size: s.blockSize,
      max_blocks: s.maxBlocks,
    };
    if (fmt === 'fp8') args['cache_scales'] = c.latentScales[layer]!;
    if (sel) args['sel'] = (sel as KSelection).buf;
    if (this.device.language === 'c' && mlaDecodeCFits(heads, r)) {
      args['r'] = r;
      this.run(this.kernel(`attn_decode_c_${fmt}_${sparse}`, () => attentionDecodeCKernel(fmt, sparse)), args);
      return out;
    }
    const headBlock = [8, 4, 2, 1].find((b) => heads % b === 0)!;
    const programs = ql.rows * (heads / headBlock);
    args['scratch'] = this.scratch(programs * maxKeys * headBlock * 4);
    args['slots'] = this.scratch(programs * maxKeys * 4);
    this.run(this.kernel(`attn_decode_${fmt}_${r}_${headBlock}_${sparse}`, () => attentionDecodeKernel(fmt, r, headBlock, sparse)), args);
    return out;
  }

  writeKvCache(cache: KvCache, layer: number, k: Tensor, v: Tensor, step: Step): void {
    const c = asKCache(cache);
    const spec = gqaSpec(c.spec);
    const s = asKStep(step);
    const width = spec.kvHeads * spec.headDim;
    if (asK(k).cols !== width || asK(v).cols !== width) throw new Error(`writeKvCache: k/v have ${asK(k).cols}/${asK(v).cols} columns, the cache ${width}`);
    this.run(this.kernel(`write_kv_${spec.dtype}`, () => writeKvKernel(spec.dtype)), { k: asK(k).buf, v: asK(v).buf, slots: s.slots, cache_k: c.k[layer]!, cache_v: c.v[layer]!, rows: s.rows, width });
  }

  gqaAttention(cache: KvCache, layer: number, q: Tensor, scale: number, step: Step): Tensor {
    const c = asKCache(cache);
    const spec = gqaSpec(c.spec);
    const s = asKStep(step);
    const qa = asK(q);
    const D = spec.headDim;
    const group = qa.cols / (spec.kvHeads * D);
    if (!Number.isInteger(group) || group < 1) throw new Error(`gqaAttention: ${qa.cols} query columns are not a multiple of ${spec.kvHeads} KV heads x ${D}`);
    const programs = s.rows * spec.kvHeads;
    const out = this.tensor(s.rows, qa.cols);
    this.run(this.kernel(`gqa_attn_${spec.dtype}_${D}_${group}`, () => gqaAttentionKernel(spec.dtype, D, group)), {
      q: qa.buf,
      cache_k: c.k[layer]!,
      cache_v: c.v[layer]!,
      row_seq: s.rowSeqBuf,
      row_pos: s.rowPosBuf,
      tables: s.tables,
      scratch: this.scratch(programs * s.maxKeys * group * 4),
      slots: this.scratch(programs * s.maxKeys * 4),
      out: out.buf,
      rows: s.rows,
      kv_heads: spec.kvHeads,
      max_keys: s.maxKeys,
      scale,
      block_size: s.blockSize,
      max_blocks: s.maxBlocks,
    });
    return out;
  }

  absorbQuery(qNope: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    const q = asK(qNope);
    const w = asKW(kvB);
    const r = w.shape[1]!;
    const heads = q.cols / nope;
    const out = this.tensor(q.rows, heads * r);
    const args: Record<string, KernelArg> = { q: q.buf, w: w.buf, out: out.buf, rows: q.rows, heads };
    if (w.dtype === 'F8_E4M3') args['w_scales'] = w.scales;
    this.run(this.kernel(`absorb_q_${w.dtype}_${nope}_${v}_${r}`, () => absorbQueryKernel(w.dtype, nope, v, r)), args);
    return out;
  }

  absorbOutput(oLat: Tensor, kvB: Weight, nope: number, v: number): Tensor {
    const o = asK(oLat);
    const w = asKW(kvB);
    const r = w.shape[1]!;
    const heads = o.cols / r;
    const out = this.tensor(o.rows, heads * v);
    const args: Record<string, KernelArg> = { o: o.buf, w: w.buf, out: out.buf, rows: o.rows, heads };
    if (w.dtype === 'F8_E4M3') args['w_scales'] = w.scales;
    this.run(this.kernel(`absorb_o_${w.dtype}_${nope}_${v}_${r}`, () => absorbOutputKernel(w.dtype, nope, v, r)), args);
    return out;
  }

  // ---- mixture of experts ----------------------------------------------------------------------
  route(logits: Tensor, bias: Weight | null, params: RoutingParams): Routing {
    const l = asK(logits);
    const experts = this.scratch(l.rows * params.topk * 4);
    const weights = this.scratch(l.rows * params.topk * 4);
    const args: Record<string, KernelArg> = { logits: l.buf, experts, weights, rows: l.rows, scaling: params.scalingFactor };
    if (bias) args['bias'] = asKW(bias).f32;
    this.run(this.kernel(routeName(l.cols, params, bias !== null), () => routeKernel(l.cols, params, bias !== null)), args);
    return new KRouting(experts, weights, l.rows, params.topk);
  }

  moe(x: Tensor, routing: Routing, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat: 'ue8m0' | 'plain' = 'ue8m0', shard?: ExpertShard): Tensor {
    return runMoe(this.ops, asK(x), routing as KRouting, experts, mode, scaleFormat, shard ?? { first: 0, total: experts.length });
  }

  // ---- output ----------------------------------------------------------------------------------
  async read(x: Tensor): Promise<Float32Array> {
    const a = asK(x);
    return new Float32Array(await this.device.download(a.buf, a.rows * a.cols * 4));
  }

  async argmax(x: Tensor): Promise<Int32Array> {
    const a = asK(x);
    const out = this.scratch(a.rows * 4);
    this.run(this.kernel('argmax', ew.argmaxKernel), { x: a.buf, out, rows: a.rows, cols: a.cols });
    return new Int32Array(await this.device.download(out, a.rows * 4));
  }

  async readSelection(sel: Selection): Promise<Int32Array> {
    const s = sel as KSelection;
    return new Int32Array(await this.device.download(s.buf, s.shape[0] * s.shape[1] * 4));
  }

  async readQuant(q: QuantTensor): Promise<{ values: Float32Array; scales: Float32Array }> {
    const k = q as KQuant;
    return { values: await this.read(k.values), scales: new Float32Array(await this.device.download(k.scales, (k.values.rows * k.values.cols) / 32)) };
  }

  async readRouting(r: Routing): Promise<{ experts: Int32Array; weights: Float32Array }> {
    const k = r as KRouting;
    const n = k.rows * k.topk * 4;
    return { experts: new Int32Array(await this.device.download(k.experts, n)), weights: new Float32Array(await this.device.download(k.weights, n)) };
  }

  dispose(): void {
    this.device.dispose();
  }
}
