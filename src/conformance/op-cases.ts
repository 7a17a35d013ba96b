// One suite, every backend: each op on random inputs against the `ref` backend, with the
// tolerance written next to each case. Weights come from one random safetensors file in every
// storage dtype (and a file of GGUF quantized blocks for the cases of those types), so both
// backends load the very same bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../ops/backend.js';
import type { KvCache } from '../ops/kv-cache.js';
import type { SeqSlice, Step } from '../ops/step.js';
import type { LinearMode, RoutingParams, Weight, WeightDType } from '../ops/tensors.js';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { QUANT_DTYPES, f32ToBf16, f32ToF16 } from '../formats/dtype.js';
import type { QuantDType } from '../formats/dtype.js';
import { SafetensorsFile } from '../formats/safetensors.js';
import { writeSafetensors } from '../formats/safetensors-writer.js';
import type { TensorToWrite } from '../formats/safetensors-writer.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { encodeE4M3, roundE4M3 } from '../numerics/fp8.js';
import { Checker } from './checker.js';
import { OP_TOLERANCE } from './compare.js';
import { randomValues } from './random.js';
import { mergeStores, writeQuantStore } from './quant-weights.js';
import type { QuantTensorSpec } from './quant-weights.js';

const DTYPES: WeightDType[] = ['F32', 'BF16', 'F16', 'F8_E4M3'];
const H = 160; // not a multiple of 128: partial FP8 blocks
const N = 141; // not a multiple of the row tile
const E = 8;
const I = 40;
const R = 256; // latent width
const ROPE = 16;
const HEAD = 24; // GQA head width
const KV_HEADS = 2;
const GROUP = 3; // query heads per KV head
const WIDE_N = 64;
const WIDE_K = 4096;
const QK = 512; // columns of quantized linear weights and embeddings: two 256-blocks, 16 32-blocks
const QH = 256; // hidden and inner width of quantized experts (a K-type block)

const QUANT_TENSORS: QuantTensorSpec[] = [
  { name: 'q.w', shape: [N, QK], seed: 61, std: 0.5 },
  { name: 'q.emb', shape: [50, QK], seed: 62, std: 0.5 },
  ...Array.from({ length: E }, (_, e) => [
    { name: `q.x${e}.gate`, shape: [QH, QH], seed: 70 + e, std: 0.1 } as const,
    { name: `q.x${e}.up`, shape: [QH, QH], seed: 80 + e, std: 0.1 } as const,
    { name: `q.x${e}.down`, shape: [QH, QH], seed: 90 + e, std: 0.1 } as const,
  ]).flat(),
];

/** A random [rows, cols] weight in every dtype (FP8 with 128x128 block scales). */
function weightTensors(name: string, rows: number, cols: number, seed: number, std = 0.5): TensorToWrite[] {
  const v = randomValues(seed, rows * cols, std);
  const sr = Math.ceil(rows / 128);
  const sc = Math.ceil(cols / 128);
  const scales = Float32Array.from({ length: sr * sc }, (_, i) => 2 ** ((i % 5) - 8));
  const scaleOf = (i: number) => scales[Math.floor(Math.floor(i / cols) / 128) * sc + Math.floor((i % cols) / 128)]!;
  return [
    { name: `${name}.F32`, dtype: 'F32', shape: [rows, cols], data: new Uint8Array(v.buffer) },
    { name: `${name}.BF16`, dtype: 'BF16', shape: [rows, cols], data: new Uint8Array(Uint16Array.from(v, f32ToBf16).buffer) },
    { name: `${name}.F16`, dtype: 'F16', shape: [rows, cols], data: new Uint8Array(Uint16Array.from(v, f32ToF16).buffer) },
    { name: `${name}.F8_E4M3`, dtype: 'F8_E4M3', shape: [rows, cols], data: Uint8Array.from(v, (x, i) => encodeE4M3(roundE4M3(x / scaleOf(i)))) },
    { name: `${name}.F8_E4M3_scale_inv`, dtype: 'F32', shape: [sr, sc], data: new Uint8Array(scales.buffer) },
  ];
}

function buildStore(dir: string): TensorStore {
  const tensors: TensorToWrite[] = [
    ...weightTensors('w', N, H, 1),
    ...weightTensors('emb', 50, H, 2),
    ...weightTensors('kvb', 4 * (16 + 24), R, 3, 0.1),
    ...weightTensors('norm', 1, H, 4, 0.1),
    ...weightTensors('bias', 1, H, 5, 0.1),
    ...weightTensors('route_bias', 1, E, 6, 0.05),
    ...weightTensors('obias', 1, N, 8, 0.1),
    ...weightTensors('hnorm', 1, HEAD, 9, 0.1),
    { name: 'wide', dtype: 'F32', shape: [WIDE_N, WIDE_K], data: new Uint8Array(randomValues(7, WIDE_N * WIDE_K, 1).buffer) },
  ];
  for (let e = 0; e < E; e++) {
    tensors.push(...weightTensors(`x${e}.gate`, I, H, 10 + e, 0.1), ...weightTensors(`x${e}.up`, I, H, 30 + e, 0.1), ...weightTensors(`x${e}.down`, H, I, 50 + e, 0.1));
  }
  const path = join(dir, 'w.safetensors');
  writeSafetensors(path, tensors);
  const f = SafetensorsFile.open(path);
  return { source: dir, has: (n) => f.tensors.has(n), info: (n) => f.info(n), read: (n) => f.read(n), names: () => [...f.tensors.keys()], close: () => f.close() };
}

interface Side {
  readonly b: Backend;
  weight(name: string): Weight;
  /** a vector weight ([1, n] matrix stored) seen as [n] */
  vector(name: string): Weight;
}

interface Ctx {
  readonly ref: Side;
  readonly dut: Side;
}

function side(b: Backend, store: TensorStore): Side {
  const load = (name: string, vector: boolean) => {
    const info = store.info(name);
    const tensor = vector ? { ...info, shape: [info.shape[1]!] } : info;
    return b.loadWeight({ store, tensor, scale: info.dtype === 'F8_E4M3' ? store.info(`${name}_scale_inv`) : null });
  };
  return { b, weight: (n) => load(n, false), vector: (n) => load(n, true) };
}

/** A step of two sequences: a prefill slice of 5 rows at position 2 and a decode row at position 9. */
const TOKENS = Int32Array.from([3, 17, 0, 42, 8, 11]);
const SEQS: SeqSlice[] = [
  { rowStart: 0, rows: 5, startPos: 2, mode: 'prefill', blockTable: Int32Array.of(5, 2, 7) },
  { rowStart: 5, rows: 1, startPos: 9, mode: 'decode', blockTable: Int32Array.of(0, 3, 6, 1) },
];

function stepFor(b: Backend): { step: Step; cache: KvCache } {
  const T = TOKENS.length;
  const half = ROPE / 2;
  const cos = Float32Array.from({ length: T * half }, (_, i) => Math.cos(i * 0.37));
  const sin = Float32Array.from({ length: T * half }, (_, i) => Math.sin(i * 0.37));
  const cache = b.createKvCache({ kind: 'mla', layers: 1, numBlocks: 8, blockSize: 4, latentDim: R, ropeDim: ROPE, indexDim: 128, latentFormat: 'fp8' });
  return { cache, step: b.beginStep({ tokens: TOKENS, seqs: SEQS, ropeCos: cos, ropeSin: sin }, cache) };
}

/** Fill positions 0..10 of both sequences' caches with the same random latents and indexer keys. */
function fillCaches(b: Backend, cache: KvCache): void {
  const fill = (slice: SeqSlice, n: number, seed: number) => {
    const T = n;
    const cos = new Float32Array(T * (ROPE / 2)).fill(1);
    const sin = new Float32Array(T * (ROPE / 2));
    const st = b.beginStep({ tokens: new Int32Array(T), seqs: [{ ...slice, rowStart: 0, rows: T, startPos: 0 }], ropeCos: cos, ropeSin: sin }, cache);
    const latent = b.fp8RoundTrip(b.fromHost(randomValues(seed, T * R, 1), T, R));
    b.writeLatentCache(cache, 0, latent, b.fromHost(randomValues(seed + 1, T * ROPE, 1), T, ROPE), st);
    b.writeIndexCache(cache, 0, b.hadamardQuant(b.fromHost(randomValues(seed + 2, T * 128, 1), T, 128)), st);
  };
  fill(SEQS[0]!, 7, 100);
  fill(SEQS[1]!, 10, 200);
}

type Case = (c: Ctx, check: Checker) => Promise<void>;

async function both<T>(c: Ctx, fn: (s: Side) => T, read: (s: Side, x: T) => Promise<ArrayLike<number>>): Promise<[ArrayLike<number>, ArrayLike<number>]> {
  const a = fn(c.ref);
  const bb = fn(c.dut);
  return [await read(c.ref, a), await read(c.dut, bb)];
}

const readT = (s: Side, x: Parameters<Backend['read']>[0]) => s.b.read(x);

/** The cases by name. */
export const OP_CASES: Record<string, Case> = {};

for (const d of DTYPES) {
  OP_CASES[`embed ${d}`] = async (c, check) => {
    const [a, b] = await both(c, (s) => s.b.embed(s.weight(`emb.${d}`), stepFor(s.b).step), readT);
    check.exact('rows', b, a);
  };
  for (const rows of [1, 2, 5]) {
    for (const mode of d === 'F8_E4M3' ? (['plain', 'fp8-act'] as LinearMode[]) : (['plain'] as LinearMode[])) {
      for (const fmt of mode === 'fp8-act' ? (['ue8m0', 'plain'] as const) : (['ue8m0'] as const)) {
        OP_CASES[`linear ${d} ${mode} ${fmt} T=${rows}`] = async (c, check) => {
          const x = randomValues(7 + rows, rows * H, 1);
          const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, rows, H), s.weight(`w.${d}`), mode, fmt), readT);
          check.close('y', b, a, OP_TOLERANCE.sum);
        };
      }
    }
  }
  if (d !== 'F16' && d !== 'F32') {
    OP_CASES[`absorb query/output ${d}`] = async (c, check) => {
      const q = randomValues(8, 3 * 4 * 16, 1);
      const [a, b] = await both(c, (s) => s.b.absorbQuery(s.b.fromHost(q, 3, 64), s.weight(`kvb.${d}`), 16, 24), readT);
      check.close('query', b, a, OP_TOLERANCE.sum);
      const o = randomValues(9, 3 * 4 * R, 1);
      const [a2, b2] = await both(c, (s) => s.b.absorbOutput(s.b.fromHost(o, 3, 4 * R), s.weight(`kvb.${d}`), 16, 24), readT);
      check.close('output', b2, a2, OP_TOLERANCE.sum);
    };
  }
}

/**
 * A long dot product, accumulated at least as precisely as float32 FMAs over 8+ partial sums (what
 * C and GPU backends do). A chain that rounds every product and every running sum to float32 is
 * ~4x less accurate, enough to push values across e4m3 rounding boundaries of the V3.2 latent cache
 * and the FP8 activations far more often than the other backends do.
 */
OP_CASES[`linear F32 accumulation precision K=${WIDE_K}`] = async (c, check) => {
  const x = randomValues(27, 3 * WIDE_K, 1);
  const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, 3, WIDE_K), s.weight('wide'), 'plain'), readT);
  check.close('y', b, a, OP_TOLERANCE.longSum);
};

for (const d of ['F32', 'BF16'] as const) {
  OP_CASES[`rmsnorm/layernorm ${d}`] = async (c, check) => {
    const x = randomValues(11, 3 * H, 2);
    const [a, b] = await both(c, (s) => s.b.rmsNorm(s.b.fromHost(x, 3, H), s.vector(`norm.${d}`), 1e-6), readT);
    check.close('rmsnorm', b, a, OP_TOLERANCE.norm);
    const [a2, b2] = await both(c, (s) => s.b.layerNorm(s.b.fromHost(x, 3, H), s.vector(`norm.${d}`), s.vector(`bias.${d}`), 1e-6), readT);
    check.close('layernorm', b2, a2, OP_TOLERANCE.norm);
  };
}

OP_CASES['add, silu·mul, narrow, rows, concat, gather'] = async (c, check) => {
  const x = randomValues(12, 4 * 24, 2);
  const y = randomValues(13, 4 * 24, 2);
  const ops: Array<(s: Side) => Parameters<Backend['read']>[0]> = [
    (s) => s.b.add(s.b.fromHost(x, 4, 24), s.b.fromHost(y, 4, 24)),
    (s) => s.b.siluMul(s.b.fromHost(x, 4, 24), s.b.fromHost(y, 4, 24)),
    (s) => s.b.narrow(s.b.fromHost(x, 4, 24), 3, 2, 5),
    (s) => s.b.rows(s.b.fromHost(x, 4, 24), 1, 2),
    (s) => s.b.concatRows([s.b.fromHost(x, 4, 24), s.b.fromHost(y.subarray(0, 48), 2, 24)]),
    (s) => s.b.gatherRows(s.b.fromHost(x, 4, 24), Int32Array.of(3, 0, 3)),
  ];
  for (const [i, op] of ops.entries()) {
    const [a, b] = await both(c, op, readT);
    check.close(`op ${i}`, b, a, OP_TOLERANCE.elementwise);
  }
};

OP_CASES['argmax (first index on ties)'] = async (c, check) => {
  const x = randomValues(26, 5 * 1000, 1);
  x[2 * 1000 + 17] = 9;
  x[2 * 1000 + 400] = 9; // a tie: the first index wins
  const [a, b] = await both(c, (s) => s.b.fromHost(x, 5, 1000), (s, t) => s.b.argmax(t));
  check.exact('argmax', b, a);
  check.ok('ties take the first index', a[2] === 17);
};

for (const layout of ['interleaved', 'half'] as const) {
  OP_CASES[`rope ${layout}`] = async (c, check) => {
    const x = randomValues(14, 6 * 3 * 24, 1);
    const [a, b] = await both(c, (s) => s.b.rope(s.b.fromHost(x, 6, 72), 3, 8, ROPE, layout, stepFor(s.b).step), readT);
    check.close('rope', b, a, OP_TOLERANCE.elementwise);
    const [a2, b2] = await both(c, (s) => s.b.rope(s.b.fromHost(x, 2, 216), 1, 0, ROPE, layout, stepFor(s.b).step, 3), readT);
    check.close('rope with a row offset', b2, a2, OP_TOLERANCE.elementwise);
  };
}

OP_CASES['fp8 round trip and hadamard quantization'] = async (c, check) => {
  const x = randomValues(15, 6 * R, 3);
  const [a, b] = await both(c, (s) => s.b.fp8RoundTrip(s.b.fromHost(x, 6, R)), readT);
  check.exact('round trip', b, a);
  const k = randomValues(16, 5 * 256, 1);
  const [qa, qb] = await Promise.all([c.ref, c.dut].map((s) => s.b.readQuant(s.b.hadamardQuant(s.b.fromHost(k, 5, 256)))));
  check.quant('hadamard quantization', qb!, qa!);
};

OP_CASES['KV cache write/gather, indexer top-k, prefill and decode attention'] = async (c, check) => {
  const results: Array<Record<string, ArrayLike<number>>> = [];
  for (const s of [c.ref, c.dut]) {
    const b = s.b;
    const { cache } = stepFor(b);
    fillCaches(b, cache);
    const { step } = { step: b.beginStep({ tokens: TOKENS, seqs: SEQS, ropeCos: new Float32Array(6 * 8), ropeSin: new Float32Array(6 * 8) }, cache) };
    const keys = b.gatherPrefillKeys(cache, 0, step);
    const qI = b.hadamardQuant(b.fromHost(randomValues(17, 6 * 2 * 128, 1), 6, 256));
    const hw = b.fromHost(randomValues(18, 6 * 2, 1), 6, 2);
    const sel = b.indexerTopk(cache, 0, qI, hw, 0.25, 4, step);
    const q = b.fromHost(randomValues(19, 5 * 4 * 32, 1), 5, 4 * 32);
    const kv = b.fromHost(randomValues(20, 7 * 4 * 40, 1), 7, 4 * 40);
    const kpe = b.narrow(keys.kpe, 1, 0, ROPE);
    const dense = b.attentionPrefill(q, kv, kpe, null, 0.2, 16, step);
    const sparse = b.attentionPrefill(q, kv, kpe, sel, 0.2, 16, step);
    const qLat = b.fromHost(randomValues(21, 4 * R, 0.2), 1, 4 * R);
    const qPe = b.fromHost(randomValues(22, 4 * ROPE, 0.2), 1, 4 * ROPE);
    const dDense = b.attentionDecode(cache, 0, qLat, qPe, null, 0.3, step);
    const dSparse = b.attentionDecode(cache, 0, qLat, qPe, sel, 0.3, step);
    results.push({
      latent: await b.read(keys.latent),
      kpe: await b.read(keys.kpe),
      sel: await b.readSelection(sel),
      dense: await b.read(dense),
      sparse: await b.read(sparse),
      dDense: await b.read(dDense),
      dSparse: await b.read(dSparse),
    });
  }
  const [a, b] = results as [Record<string, ArrayLike<number>>, Record<string, ArrayLike<number>>];
  check.exact('gathered latents (FP8 cache)', b['latent']!, a['latent']!);
  check.exact('gathered rope keys', b['kpe']!, a['kpe']!);
  check.exact('indexer top-k sets', b['sel']!, a['sel']!);
  for (const k of ['dense', 'sparse', 'dDense', 'dSparse']) check.close(k, b[k]!, a[k]!, OP_TOLERANCE.sum);
};

/**
 * Decode rows over caches at DeepSeek-V3.2's attention widths (latent 512 + rope 64, 64 index heads
 * of 128, 32 query heads: the CPU's register-blocked kernels take these): one sequence past top-k
 * (keys in tiles with a tail), one within it (selection padded with -1), scattered blocks.
 */
for (const latentFormat of ['fp8', 'f32'] as const) {
  OP_CASES[`MLA decode at V3.2 widths, ${latentFormat} latents`] = async (c, check) => {
    const [r, rope, heads, iheads, topk, bs] = [512, 64, 32, 64, 64, 16];
    const seqs: SeqSlice[] = [
      { rowStart: 0, rows: 1, startPos: 149, mode: 'decode', blockTable: Int32Array.of(9, 3, 7, 0, 12, 5, 1, 10, 2, 11) },
      { rowStart: 1, rows: 1, startPos: 36, mode: 'decode', blockTable: Int32Array.of(4, 8, 6) },
    ];
    const results: Array<Record<string, ArrayLike<number>>> = [];
    for (const s of [c.ref, c.dut]) {
      const b = s.b;
      const cache = b.createKvCache({ kind: 'mla', layers: 1, numBlocks: 13, blockSize: bs, latentDim: r, ropeDim: rope, indexDim: 128, latentFormat });
      seqs.forEach((slice, i) => {
        const n = slice.startPos + 1;
        const st = b.beginStep({ tokens: new Int32Array(n), seqs: [{ ...slice, rowStart: 0, rows: n, startPos: 0, mode: 'prefill' }], ropeCos: new Float32Array(n * (rope / 2)), ropeSin: new Float32Array(n * (rope / 2)) }, cache);
        const latent = b.fp8RoundTrip(b.fromHost(randomValues(300 + i, n * r, 1), n, r));
        b.writeLatentCache(cache, 0, latent, b.fromHost(randomValues(310 + i, n * rope, 1), n, rope), st);
        b.writeIndexCache(cache, 0, b.hadamardQuant(b.fromHost(randomValues(320 + i, n * 128, 1), n, 128)), st);
      });
      const step = b.beginStep({ tokens: Int32Array.of(5, 6), seqs, ropeCos: new Float32Array(2 * (rope / 2)), ropeSin: new Float32Array(2 * (rope / 2)) }, cache);
      const qI = b.hadamardQuant(b.fromHost(randomValues(330, 2 * iheads * 128, 1), 2, iheads * 128));
      const hw = b.fromHost(randomValues(331, 2 * iheads, 1), 2, iheads);
      const sel = b.indexerTopk(cache, 0, qI, hw, 0.125, topk, step);
      const qLat = b.fromHost(randomValues(332, 2 * heads * r, 0.05), 2, heads * r);
      const qPe = b.fromHost(randomValues(333, 2 * heads * rope, 0.2), 2, heads * rope);
      const dense = b.attentionDecode(cache, 0, qLat, qPe, null, 0.07, step);
      const sparse = b.attentionDecode(cache, 0, qLat, qPe, sel, 0.07, step);
      results.push({ sel: await b.readSelection(sel), dense: await b.read(dense), sparse: await b.read(sparse) });
    }
    const [a, b] = results as [Record<string, ArrayLike<number>>, Record<string, ArrayLike<number>>];
    check.exact('indexer top-k sets', b['sel']!, a['sel']!);
    check.close('dense decode attention', b['dense']!, a['dense']!, OP_TOLERANCE.sum);
    check.close('sparse decode attention', b['sparse']!, a['sparse']!, OP_TOLERANCE.sum);
  };
}

for (const d of ['F32', 'BF16'] as const) {
  OP_CASES[`linear with bias ${d}`] = async (c, check) => {
    const x = randomValues(28, 3 * H, 1);
    const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, 3, H), s.weight(`w.${d}`), 'plain', 'ue8m0', s.vector(`obias.${d}`)), readT);
    check.close('y', b, a, OP_TOLERANCE.sum);
  };
  OP_CASES[`rmsnorm per head ${d}`] = async (c, check) => {
    const x = randomValues(29, 3 * 4 * HEAD, 2);
    const [a, b] = await both(c, (s) => s.b.rmsNorm(s.b.fromHost(x, 3, 4 * HEAD), s.vector(`hnorm.${d}`), 1e-6), readT);
    check.close('per-head rmsnorm', b, a, OP_TOLERANCE.norm);
  };
}

for (const dtype of ['f32', 'f16', 'bf16'] as const) {
  OP_CASES[`GQA K/V cache (${dtype}) and attention`] = async (c, check) => {
    const width = KV_HEADS * HEAD;
    const results: Float32Array[] = [];
    for (const s of [c.ref, c.dut]) {
      const b = s.b;
      const cache = b.createKvCache({ kind: 'gqa', layers: 2, numBlocks: 8, blockSize: 4, kvHeads: KV_HEADS, headDim: HEAD, dtype });
      // positions before the step's rows (2 and 9 of them), written by an earlier step
      for (const [slice, n, seed] of [[SEQS[0]!, 2, 300], [SEQS[1]!, 9, 400]] as const) {
        const st = b.beginStep({ tokens: new Int32Array(n), seqs: [{ ...slice, rowStart: 0, rows: n, startPos: 0, mode: 'prefill' }], ropeCos: new Float32Array(n * 8), ropeSin: new Float32Array(n * 8) }, cache);
        b.writeKvCache(cache, 1, b.fromHost(randomValues(seed, n * width, 1), n, width), b.fromHost(randomValues(seed + 1, n * width, 1), n, width), st);
      }
      const T = TOKENS.length;
      const step = b.beginStep({ tokens: TOKENS, seqs: SEQS, ropeCos: new Float32Array(T * 8), ropeSin: new Float32Array(T * 8) }, cache);
      b.writeKvCache(cache, 1, b.fromHost(randomValues(31, T * width, 1), T, width), b.fromHost(randomValues(32, T * width, 1), T, width), step);
      const q = b.fromHost(randomValues(33, T * KV_HEADS * GROUP * HEAD, 1), T, KV_HEADS * GROUP * HEAD);
      results.push(await b.read(b.gqaAttention(cache, 1, q, HEAD ** -0.5, step)));
    }
    check.close('attention over the cached K/V', results[1]!, results[0]!, OP_TOLERANCE.sum);
  };
}

const ROUTINGS: Array<[string, RoutingParams, boolean]> = [
  ['sigmoid noaux_tc', { topk: 3, nGroup: 4, topkGroup: 2, scoring: 'sigmoid', groupScore: 'top2-sum', normalize: true, scalingFactor: 2.5 }, true],
  ['softmax greedy', { topk: 2, nGroup: 1, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: false, scalingFactor: 16 }, false],
  ['softmax group-limited', { topk: 2, nGroup: 2, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: true, scalingFactor: 1 }, false],
];

for (const [name, params, bias] of ROUTINGS) {
  OP_CASES[`route ${name}`] = async (c, check) => {
    const logits = randomValues(23, 7 * E, 2);
    const [a, b] = await both(c, (s) => s.b.route(s.b.fromHost(logits, 7, E), bias ? s.vector('route_bias.F32') : null, params), (s, r) => s.b.readRouting(r).then((x) => [...x.experts, ...x.weights]));
    check.close('experts and weights', b, a, OP_TOLERANCE.elementwise);
  };
}

for (const d of DTYPES) {
  for (const mode of d === 'F8_E4M3' ? (['plain', 'fp8-act'] as LinearMode[]) : (['plain'] as LinearMode[])) {
    OP_CASES[`moe ${d} ${mode}`] = async (c, check) => {
      const x = randomValues(24, 5 * H, 1);
      const logits = randomValues(25, 5 * E, 2);
      const params = ROUTINGS[0]![1];
      const [a, b] = await both(
        c,
        (s) => {
          const experts = Array.from({ length: E }, (_, e) => ({ gate: s.weight(`x${e}.gate.${d}`), up: s.weight(`x${e}.up.${d}`), down: s.weight(`x${e}.down.${d}`) }));
          return s.b.moe(s.b.fromHost(x, 5, H), s.b.route(s.b.fromHost(logits, 5, E), null, params), experts, mode, 'ue8m0');
        },
        readT,
      );
      check.close('y', b, a, mode === 'fp8-act' ? OP_TOLERANCE.fp8ActMoe : OP_TOLERANCE.sum);
    };
  }
}

// expert parallelism: a rank holding experts [2, 6) of 8 sums only the pairs routed to them
OP_CASES['moe BF16 plain, experts 2..5 of 8 (expert-parallel shard)'] = async (c, check) => {
  const x = randomValues(26, 5 * H, 1);
  const logits = randomValues(27, 5 * E, 2);
  const [a, b] = await both(
    c,
    (s) => {
      const experts = Array.from({ length: 4 }, (_, i) => ({ gate: s.weight(`x${i + 2}.gate.BF16`), up: s.weight(`x${i + 2}.up.BF16`), down: s.weight(`x${i + 2}.down.BF16`) }));
      return s.b.moe(s.b.fromHost(x, 5, H), s.b.route(s.b.fromHost(logits, 5, E), null, ROUTINGS[0]![1]), experts, 'plain', 'ue8m0', { first: 2, total: E });
    },
    readT,
  );
  check.close('y', b, a, OP_TOLERANCE.sum);
  // the shards [0, 2) + [2, 6) + [6, 8) on the device under test sum to the whole layer on ref
  const expertsOf = (s: Side, lo: number, hi: number) => Array.from({ length: hi - lo }, (_, i) => ({ gate: s.weight(`x${lo + i}.gate.BF16`), up: s.weight(`x${lo + i}.up.BF16`), down: s.weight(`x${lo + i}.down.BF16`) }));
  const whole = await readT(c.ref, c.ref.b.moe(c.ref.b.fromHost(x, 5, H), c.ref.b.route(c.ref.b.fromHost(logits, 5, E), null, ROUTINGS[0]![1]), expertsOf(c.ref, 0, E), 'plain', 'ue8m0'));
  const d = c.dut.b;
  const xd = d.fromHost(x, 5, H);
  const rd = d.route(d.fromHost(logits, 5, E), null, ROUTINGS[0]![1]);
  const parts = [[0, 2], [2, 6], [6, 8]].map(([lo, hi]) => d.moe(xd, rd, expertsOf(c.dut, lo!, hi!), 'plain', 'ue8m0', { first: lo!, total: E }));
  check.close('Σ over three shards = the whole layer', await readT(c.dut, d.add(d.add(parts[0]!, parts[1]!), parts[2]!)), whole, OP_TOLERANCE.sum);
};

/** Cases that read GGUF quantized weights, and of which type. */
/** The block types whose test weights a case reads. */
const QUANT_CASES = new Map<string, readonly QuantDType[]>();

for (const d of QUANT_DTYPES) {
  const add = (name: string, fn: Case) => {
    OP_CASES[name] = fn;
    QUANT_CASES.set(name, [d]);
  };
  add(`embed ${d}`, async (c, check) => {
    const [a, b] = await both(c, (s) => s.b.embed(s.weight(`q.emb.${d}`), stepFor(s.b).step), readT);
    check.exact('rows (dequantized as llama.cpp does)', b, a);
  });
  for (const mode of ['plain', 'ggml'] as const) {
    for (const rows of [1, 2, 5, 9]) {
      add(`linear ${d} ${mode} T=${rows}`, async (c, check) => {
        const x = randomValues(40 + rows, rows * QK, 1);
        const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, rows, QK), s.weight(`q.w.${d}`), mode), readT);
        check.close('y', b, a, OP_TOLERANCE.sum);
      });
    }
    add(`moe ${d} ${mode}`, async (c, check) => {
      const [a, b] = await both(c, (s) => moeOf(s, (e, part) => `q.x${e}.${part}.${d}`, QH, mode), readT);
      check.close('y', b, a, mode === 'ggml' ? OP_TOLERANCE.ggmlMoe : OP_TOLERANCE.sum);
    });
  }
}

// llama-quantize's Q4_K_M keeps some layers' ffn_down_exps in Q6_K next to Q4_K gate / up
for (const mode of ['plain', 'ggml'] as const) {
  const name = `moe Q4_K gate/up, Q6_K down ${mode}`;
  QUANT_CASES.set(name, ['Q4_K', 'Q6_K']);
  OP_CASES[name] = async (c, check) => {
    const [a, b] = await both(c, (s) => moeOf(s, (e, part) => `q.x${e}.${part}.${part === 'down' ? 'Q6_K' : 'Q4_K'}`, QH, mode), readT);
    check.close('y', b, a, mode === 'ggml' ? OP_TOLERANCE.ggmlMoe : OP_TOLERANCE.sum);
  };
}

for (const d of ['F32', 'F16', 'BF16'] as const) {
  for (const rows of [1, 2, 5]) {
    OP_CASES[`linear ${d} ggml T=${rows}`] = async (c, check) => {
      const x = randomValues(50 + rows, rows * H, 1);
      const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, rows, H), s.weight(`w.${d}`), 'ggml'), readT);
      check.close('y (input rounded to the weight type)', b, a, OP_TOLERANCE.sum);
    };
  }
  OP_CASES[`moe ${d} ggml`] = async (c, check) => {
    const [a, b] = await both(c, (s) => moeOf(s, (e, part) => `x${e}.${part}.${d}`, H, 'ggml'), readT);
    check.close('y', b, a, OP_TOLERANCE.ggmlMoe);
  };
}

OP_CASES['linear F8_E4M3 ggml is an error'] = async (c, check) => {
  for (const s of [c.ref, c.dut]) {
    let error = '';
    try {
      s.b.linear(s.b.fromHost(new Float32Array(H), 1, H), s.weight('w.F8_E4M3'), 'ggml');
    } catch (e) {
      error = e instanceof Error ? e.message : String(e);
    }
    check.ok(`${s.b.name} refuses it`, /ggml/.test(error), error || 'no error');
  }
};

/** The routed experts `name(e, part)` on 5 random rows of width `hidden` (routing ROUTINGS[0]). */
function moeOf(s: Side, name: (e: number, part: 'gate' | 'up' | 'down') => string, hidden: number, mode: LinearMode): ReturnType<Backend['moe']> {
  const x = randomValues(24, 5 * hidden, 1);
  const logits = randomValues(25, 5 * E, 2);
  const experts = Array.from({ length: E }, (_, e) => ({ gate: s.weight(name(e, 'gate')), up: s.weight(name(e, 'up')), down: s.weight(name(e, 'down')) }));
  return s.b.moe(s.b.fromHost(x, 5, hidden), s.b.route(s.b.fromHost(logits, 5, E), null, ROUTINGS[0]![1]), experts, mode, 'ue8m0');
}

export interface OpCaseResult {
  readonly name: string;
  readonly checks: Checker;
  readonly ms: number;
}

/** Runs one case on a fresh DUT against a fresh reference backend (weights in a temporary file). */
export async function runOpCase(name: string, makeBackend: () => Backend | Promise<Backend>): Promise<OpCaseResult> {
  const fn = OP_CASES[name];
  if (!fn) throw new Error(`no conformance case ${JSON.stringify(name)}`);
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'tessera-conf-'));
  const quant = QUANT_CASES.get(name);
  const store = quant ? mergeStores([buildStore(dir), ...quant.map((d) => writeQuantStore(dir, d, QUANT_TENSORS))]) : buildStore(dir);
  const dut = await makeBackend();
  const check = new Checker();
  try {
    await fn({ ref: side(new RefBackend(), store), dut: side(dut, store) }, check);
  } catch (e) {
    check.ok('runs without an error', false, e instanceof Error ? e.message : String(e));
  } finally {
    dut.dispose();
    store.close();
    rmSync(dir, { recursive: true });
  }
  return { name, checks: check, ms: performance.now() - t0 };
}
