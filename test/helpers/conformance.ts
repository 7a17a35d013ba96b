// One suite, every backend: each op on random inputs against the `ref` backend, with the
// tolerance written next to each case. Weights come from one random safetensors file in every
// storage dtype, so both backends load the very same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend, KvCache, LinearMode, RoutingParams, SeqSlice, Step, Weight, WeightDType } from '../../src/backends/backend.js';
import { RefBackend } from '../../src/backends/ref/ref-backend.js';
import { SafetensorsFile } from '../../src/formats/safetensors.js';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import type { TensorToWrite } from '../../src/formats/safetensors-writer.js';
import type { TensorStore } from '../../src/formats/tensor-store.js';
import { encodeE4M3, roundE4M3 } from '../../src/numerics/fp8.js';
import { bf16Bytes, randomValues } from './tiny-models.js';

const DTYPES: WeightDType[] = ['F32', 'BF16', 'F16', 'F8_E4M3'];
/** Float32 results that differ from the reference only by summation order: relative to the largest value. */
const SUM_ORDER = 2e-5;
const H = 160; // not a multiple of 128: partial FP8 blocks
const N = 141; // not a multiple of the row tile
const E = 8;
const I = 40;
const R = 256; // latent width
const ROPE = 16;

function f16Bits(v: number): number {
  const x = new Uint32Array(new Float32Array([v]).buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = ((x >>> 23) & 0xff) - 112;
  return exp <= 0 ? sign : sign | (exp << 10) | ((x & 0x7fffff) >>> 13);
}

/** A random [rows, cols] weight in every dtype (FP8 with 128x128 block scales). */
function weightTensors(name: string, rows: number, cols: number, seed: number, std = 0.5): TensorToWrite[] {
  const v = randomValues(seed, rows * cols, std);
  const sr = Math.ceil(rows / 128);
  const sc = Math.ceil(cols / 128);
  const scales = Float32Array.from({ length: sr * sc }, (_, i) => 2 ** ((i % 5) - 8));
  const scaleOf = (i: number) => scales[Math.floor(Math.floor(i / cols) / 128) * sc + Math.floor((i % cols) / 128)]!;
  return [
    { name: `${name}.F32`, dtype: 'F32', shape: [rows, cols], data: new Uint8Array(v.buffer) },
    { name: `${name}.BF16`, dtype: 'BF16', shape: [rows, cols], data: bf16Bytes(v) },
    { name: `${name}.F16`, dtype: 'F16', shape: [rows, cols], data: new Uint8Array(Uint16Array.from(v, f16Bits).buffer) },
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

/** Max |a - b| over max(1, max |b|). */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length, 'length');
  let m = 0;
  let scale = 1;
  for (let i = 0; i < a.length; i++) {
    m = Math.max(m, Math.abs(a[i]! - b[i]!));
    scale = Math.max(scale, Math.abs(b[i]!));
  }
  return m / scale;
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
  const cache = b.createKvCache({ layers: 1, numBlocks: 8, blockSize: 4, latentDim: R, ropeDim: ROPE, indexDim: 128, latentFormat: 'fp8' });
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

type Case = (c: Ctx) => Promise<void>;

async function both<T>(c: Ctx, fn: (s: Side) => T, read: (s: Side, x: T) => Promise<ArrayLike<number>>): Promise<[ArrayLike<number>, ArrayLike<number>]> {
  const a = fn(c.ref);
  const bb = fn(c.dut);
  return [await read(c.ref, a), await read(c.dut, bb)];
}

const readT = (s: Side, x: Parameters<Backend['read']>[0]) => s.b.read(x);

const CASES: Record<string, Case> = {};

for (const d of DTYPES) {
  CASES[`embed ${d}`] = async (c) => {
    const [a, b] = await both(c, (s) => s.b.embed(s.weight(`emb.${d}`), stepFor(s.b).step), readT);
    assert.ok(relErr(b, a) === 0, 'exact');
  };
  for (const rows of [1, 2, 5]) {
    for (const mode of d === 'F8_E4M3' ? (['plain', 'fp8-act'] as LinearMode[]) : (['plain'] as LinearMode[])) {
      for (const fmt of mode === 'fp8-act' ? (['ue8m0', 'plain'] as const) : (['ue8m0'] as const)) {
        CASES[`linear ${d} ${mode} ${fmt} T=${rows}`] = async (c) => {
          const x = randomValues(7 + rows, rows * H, 1);
          const [a, b] = await both(c, (s) => s.b.linear(s.b.fromHost(x, rows, H), s.weight(`w.${d}`), mode, fmt), readT);
          assert.ok(relErr(b, a) <= SUM_ORDER, `rel err ${relErr(b, a)}`);
        };
      }
    }
  }
  if (d !== 'F16' && d !== 'F32') {
    CASES[`absorb query/output ${d}`] = async (c) => {
      const q = randomValues(8, 3 * 4 * 16, 1);
      const [a, b] = await both(c, (s) => s.b.absorbQuery(s.b.fromHost(q, 3, 64), s.weight(`kvb.${d}`), 16, 24), readT);
      assert.ok(relErr(b, a) <= SUM_ORDER, `query ${relErr(b, a)}`);
      const o = randomValues(9, 3 * 4 * R, 1);
      const [a2, b2] = await both(c, (s) => s.b.absorbOutput(s.b.fromHost(o, 3, 4 * R), s.weight(`kvb.${d}`), 16, 24), readT);
      assert.ok(relErr(b2, a2) <= SUM_ORDER, `output ${relErr(b2, a2)}`);
    };
  }
}

for (const d of ['F32', 'BF16'] as const) {
  CASES[`rmsnorm/layernorm ${d}`] = async (c) => {
    const x = randomValues(11, 3 * H, 2);
    const [a, b] = await both(c, (s) => s.b.rmsNorm(s.b.fromHost(x, 3, H), s.vector(`norm.${d}`), 1e-6), readT);
    assert.ok(relErr(b, a) <= 1e-6, `rmsnorm ${relErr(b, a)}`);
    const [a2, b2] = await both(c, (s) => s.b.layerNorm(s.b.fromHost(x, 3, H), s.vector(`norm.${d}`), s.vector(`bias.${d}`), 1e-6), readT);
    assert.ok(relErr(b2, a2) <= 1e-6, `layernorm ${relErr(b2, a2)}`);
  };
}

CASES['add, silu·mul, narrow, rows, concat, gather'] = async (c) => {
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
    assert.ok(relErr(b, a) <= 1e-6, `op ${i}: ${relErr(b, a)}`);
  }
};

CASES['argmax (first index on ties)'] = async (c) => {
  const x = randomValues(26, 5 * 1000, 1);
  x[2 * 1000 + 17] = 9;
  x[2 * 1000 + 400] = 9; // a tie: the first index wins
  const [a, b] = await both(c, (s) => s.b.fromHost(x, 5, 1000), (s, t) => s.b.argmax(t));
  assert.deepEqual(Array.from(b), Array.from(a));
  assert.equal(a[2], 17);
};

for (const layout of ['interleaved', 'half'] as const) {
  CASES[`rope ${layout}`] = async (c) => {
    const x = randomValues(14, 6 * 3 * 24, 1);
    const [a, b] = await both(c, (s) => s.b.rope(s.b.fromHost(x, 6, 72), 3, 8, ROPE, layout, stepFor(s.b).step), readT);
    assert.ok(relErr(b, a) <= 1e-6, `${relErr(b, a)}`);
    const [a2, b2] = await both(c, (s) => s.b.rope(s.b.fromHost(x, 2, 216), 1, 0, ROPE, layout, stepFor(s.b).step, 3), readT);
    assert.ok(relErr(b2, a2) <= 1e-6, `row offset: ${relErr(b2, a2)}`);
  };
}

CASES['fp8 round trip and hadamard quantization'] = async (c) => {
  const x = randomValues(15, 6 * R, 3);
  const [a, b] = await both(c, (s) => s.b.fp8RoundTrip(s.b.fromHost(x, 6, R)), readT);
  assert.deepEqual(Array.from(b), Array.from(a), 'round trip is bit-exact');
  const k = randomValues(16, 5 * 256, 1);
  const [qa, qb] = await both(c, (s) => s.b.hadamardQuant(s.b.fromHost(k, 5, 256)), async (s, q) => {
    const { values, scales } = await s.b.readQuant(q);
    return Float32Array.from(values, (v, i) => v * scales[Math.floor(i / 128)]!);
  });
  // float32 butterflies vs the reference's float64: a value on an e4m3 rounding boundary may round
  // to its neighbour, so allow at most 1% of values one e4m3 step (≤ 1/8 relative, ≤ 2^-9·scale) apart.
  let flips = 0;
  for (let i = 0; i < qa.length; i++) {
    if (qa[i] === qb[i]) continue;
    flips++;
    assert.ok(Math.abs(qa[i]! - qb[i]!) <= Math.max(Math.abs(qa[i]!) / 8, 2 ** -9), `value ${i}: ${qa[i]} vs ${qb[i]}`);
  }
  assert.ok(flips <= qa.length / 100, `${flips} of ${qa.length} values differ`);
};

CASES['KV cache write/gather, indexer top-k, prefill and decode attention'] = async (c) => {
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
  assert.deepEqual(Array.from(b['latent']!), Array.from(a['latent']!), 'gathered latents (FP8 cache) are exact');
  assert.deepEqual(Array.from(b['kpe']!), Array.from(a['kpe']!), 'gathered rope keys are exact');
  assert.deepEqual(Array.from(b['sel']!), Array.from(a['sel']!), 'indexer top-k sets');
  for (const k of ['dense', 'sparse', 'dDense', 'dSparse']) assert.ok(relErr(b[k]!, a[k]!) <= SUM_ORDER, `${k}: ${relErr(b[k]!, a[k]!)}`);
};

const ROUTINGS: Array<[string, RoutingParams, boolean]> = [
  ['sigmoid noaux_tc', { topk: 3, nGroup: 4, topkGroup: 2, scoring: 'sigmoid', groupScore: 'top2-sum', normalize: true, scalingFactor: 2.5 }, true],
  ['softmax greedy', { topk: 2, nGroup: 1, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: false, scalingFactor: 16 }, false],
  ['softmax group-limited', { topk: 2, nGroup: 2, topkGroup: 1, scoring: 'softmax', groupScore: 'max', normalize: true, scalingFactor: 1 }, false],
];

for (const [name, params, bias] of ROUTINGS) {
  CASES[`route ${name}`] = async (c) => {
    const logits = randomValues(23, 7 * E, 2);
    const [a, b] = await both(c, (s) => s.b.route(s.b.fromHost(logits, 7, E), bias ? s.vector('route_bias.F32') : null, params), (s, r) => s.b.readRouting(r).then((x) => [...x.experts, ...x.weights]));
    assert.ok(relErr(b, a) <= 1e-6, `${relErr(b, a)}`);
  };
}

for (const d of DTYPES) {
  for (const mode of d === 'F8_E4M3' ? (['plain', 'fp8-act'] as LinearMode[]) : (['plain'] as LinearMode[])) {
    CASES[`moe ${d} ${mode}`] = async (c) => {
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
      assert.ok(relErr(b, a) <= (mode === 'fp8-act' ? 1e-3 : SUM_ORDER), `${relErr(b, a)}`);
    };
  }
}

export interface SuiteOptions {
  /** cases not run, each with the reason */
  readonly skip?: Readonly<Record<string, string>>;
  /** run only the cases whose names match (e.g. a backend variant that only changes some kernels) */
  readonly only?: RegExp;
}

/** Registers the conformance suite for a backend factory. */
export function runConformanceSuite(label: string, makeBackend: () => Backend, options: SuiteOptions = {}): void {
  for (const [name, fn] of Object.entries(CASES)) {
    if (options.only && !options.only.test(name)) continue;
    const reason = options.skip?.[name];
    test(`${label} conformance: ${name}`, reason ? { skip: reason } : {}, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tessera-conf-'));
      const store = buildStore(dir);
      const ref = new RefBackend();
      const dut = makeBackend();
      try {
        await fn({ ref: side(ref, store), dut: side(dut, store) });
      } finally {
        dut.dispose();
        store.close();
        rmSync(dir, { recursive: true });
      }
    });
  }
}
