// writeLlamaFamilyGguf on tiny random Hugging Face checkpoints: llama.cpp (node-llama-cpp's CPU
// binary) runs each converted file, and its log-probs must match an independent float64 forward
// pass with Hugging Face semantics (RMSNorm, GQA, half-split RoPE with Llama 3 / YaRN scaling,
// Qwen3's per-head q/k RMSNorm before RoPE, SwiGLU) written below, over 10 prompt rows and 3
// teacher-forced decode rows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomValues } from '../src/conformance/random.js';
import { decodeToF32, f32ToF16 } from '../src/formats/dtype.js';
import type { StorageDType } from '../src/formats/dtype.js';
import { GgufFile } from '../src/formats/gguf.js';
import { dequantize, encodeBf16, encodeF16, encodeF32, quantizeQ8_0 } from '../src/formats/gguf-codec.js';
import { ggmlType } from '../src/formats/gguf-types.js';
import { writeSafetensors } from '../src/formats/safetensors-writer.js';
import { llamaCppLogProbs } from '../test/helpers/llama-cpp-reference.js';
import { ggufTensorType, useMoreBits } from './gguf-quant.js';
import { permuteRopeRows, writeLlamaFamilyGguf } from './llama-gguf.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-llama-gguf-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));

const PROMPT = [5, 77, 123, 9, 250, 31, 64, 199, 2, 150];
const DECODE = [44, 201, 3];

// ---- tiny checkpoints ----

interface TinySpec {
  readonly modelType: 'llama' | 'qwen2' | 'qwen3';
  /** Storage dtype of the checkpoint's tensors. */
  readonly dtype: StorageDType;
  readonly extra?: Record<string, unknown>;
}

const SPECS: Readonly<Record<string, TinySpec>> = {
  llama: { modelType: 'llama', dtype: 'F32' },
  // all three Llama 3 bands are crossed at these head sizes with an original context of 32
  llama3: { modelType: 'llama', dtype: 'F16', extra: { head_dim: 16, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 } } },
  qwen2: { modelType: 'qwen2', dtype: 'BF16', extra: { rms_norm_eps: 1e-6, rope_theta: 1e6 } },
  qwen3: { modelType: 'qwen3', dtype: 'F32', extra: { head_dim: 24, rms_norm_eps: 1e-6, rope_theta: 1e6, tie_word_embeddings: true } },
  qwen3Yarn: { modelType: 'qwen3', dtype: 'BF16', extra: { head_dim: 24, rope_theta: 1e6, rope_scaling: { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 64 } } },
};

interface Cfg {
  readonly model_type: string;
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly head_dim?: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly rope_scaling?: Record<string, number | string>;
  readonly tie_word_embeddings: boolean;
}

function hfConfig(spec: TinySpec): Cfg {
  return {
    model_type: spec.modelType, vocab_size: 300, hidden_size: 64, intermediate_size: 96, num_hidden_layers: 2,
    num_attention_heads: 4, num_key_value_heads: 2, rms_norm_eps: 1e-5, rope_theta: 10000, max_position_embeddings: 256,
    tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, hidden_act: 'silu', ...spec.extra,
  } as Cfg;
}

const headDimOf = (c: Cfg): number => c.head_dim ?? c.hidden_size / c.num_attention_heads;

/** Every tensor's HF name, shape, and the mean / std of its random values. */
function tensorPlan(c: Cfg): Array<[string, number[], number, number]> {
  const H = c.hidden_size, I = c.intermediate_size, d = headDimOf(c);
  const q = c.num_attention_heads * d, kv = c.num_key_value_heads * d;
  const plan: Array<[string, number[], number, number]> = [['model.embed_tokens.weight', [c.vocab_size, H], 0, 1], ['model.norm.weight', [H], 1, 0.1]];
  if (!c.tie_word_embeddings) plan.push(['lm_head.weight', [c.vocab_size, H], 0, 2 / Math.sqrt(H)]);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    plan.push(
      [`${p}.input_layernorm.weight`, [H], 1, 0.1], [`${p}.post_attention_layernorm.weight`, [H], 1, 0.1],
      [`${p}.self_attn.q_proj.weight`, [q, H], 0, 2 / Math.sqrt(H)], [`${p}.self_attn.k_proj.weight`, [kv, H], 0, 2 / Math.sqrt(H)],
      [`${p}.self_attn.v_proj.weight`, [kv, H], 0, 1 / Math.sqrt(H)], [`${p}.self_attn.o_proj.weight`, [H, q], 0, 1 / Math.sqrt(q)],
      [`${p}.mlp.gate_proj.weight`, [I, H], 0, 1 / Math.sqrt(H)], [`${p}.mlp.up_proj.weight`, [I, H], 0, 1 / Math.sqrt(H)],
      [`${p}.mlp.down_proj.weight`, [H, I], 0, 1 / Math.sqrt(I)],
    );
    if (c.model_type === 'qwen2') plan.push([`${p}.self_attn.q_proj.bias`, [q], 0, 0.5], [`${p}.self_attn.k_proj.bias`, [kv], 0, 0.5], [`${p}.self_attn.v_proj.bias`, [kv], 0, 0.5]);
    if (c.model_type === 'qwen3') plan.push([`${p}.self_attn.q_norm.weight`, [d], 1, 0.2], [`${p}.self_attn.k_norm.weight`, [d], 1, 0.2]);
  }
  return plan;
}

const ENCODE: Partial<Record<StorageDType, (v: Float32Array) => Uint8Array>> = { F32: encodeF32, F16: encodeF16, BF16: encodeBf16 };

/** Writes config.json + model.safetensors; returns the config and the stored (rounded) values. */
function writeCheckpoint(name: string, spec: TinySpec, seed: number): { hfDir: string; c: Cfg; w: Map<string, Float32Array> } {
  const hfDir = join(dir, name);
  mkdirSync(hfDir, { recursive: true });
  const c = hfConfig(spec);
  writeFileSync(join(hfDir, 'config.json'), JSON.stringify(c));
  const w = new Map<string, Float32Array>();
  const tensors = tensorPlan(c).map(([tensor, shape, mean, std], i) => {
    const bytes = ENCODE[spec.dtype]!(randomValues(seed * 1000 + i, shape.reduce((a, b) => a * b, 1), std, mean));
    w.set(tensor, decodeToF32(bytes, spec.dtype));
    return { name: tensor, dtype: spec.dtype, shape, data: bytes };
  });
  writeSafetensors(join(hfDir, 'model.safetensors'), tensors);
  return { hfDir, c, w };
}

// ---- float64 reference forward (Hugging Face semantics) ----

function rmsNorm(x: Float64Array, g: Float32Array, eps: number): Float64Array {
  let ss = 0;
  for (const v of x) ss += v * v;
  const k = 1 / Math.sqrt(ss / x.length + eps);
  return x.map((v, i) => v * k * g[i]!);
}

/** W x (+ b) for a row-major [rows, cols] W. */
function linear(W: Float32Array, x: Float64Array, b?: Float32Array): Float64Array {
  const out = new Float64Array(W.length / x.length);
  for (let r = 0; r < out.length; r++) {
    let s = b ? b[r]! : 0;
    for (let j = 0; j < x.length; j++) s += W[r * x.length + j]! * x[j]!;
    out[r] = s;
  }
  return out;
}

/** Inverse frequencies [d/2] and the cos/sin amplitude, as transformers' rope init functions compute them. */
function ropeTables(c: Cfg): { invFreq: Float64Array; amplitude: number } {
  const d = headDimOf(c);
  const base = Float64Array.from({ length: d / 2 }, (_, i) => 1 / Math.pow(c.rope_theta, (2 * i) / d));
  const s = c.rope_scaling;
  if (s?.['rope_type'] === 'llama3') {
    const [factor, lowF, highF, old] = [s['factor'], s['low_freq_factor'], s['high_freq_factor'], s['original_max_position_embeddings']] as number[];
    const invFreq = base.map((f) => {
      const wavelen = (2 * Math.PI) / f;
      if (wavelen < old! / highF!) return f;
      if (wavelen > old! / lowF!) return f / factor!;
      const smooth = (old! / wavelen - lowF!) / (highF! - lowF!);
      return (1 - smooth) * (f / factor!) + smooth * f;
    });
    return { invFreq, amplitude: 1 };
  }
  if (s?.['rope_type'] === 'yarn') {
    const factor = s['factor'] as number;
    const old = s['original_max_position_embeddings'] as number;
    const corrDim = (rot: number): number => (d * Math.log(old / (rot * 2 * Math.PI))) / (2 * Math.log(c.rope_theta));
    const low = Math.max(Math.floor(corrDim(32)), 0);
    const high = Math.min(Math.ceil(corrDim(1)), d - 1);
    const invFreq = base.map((f, i) => {
      const extrapolation = 1 - Math.min(Math.max((i - low) / (low === high ? 0.001 : high - low), 0), 1);
      return (f / factor) * (1 - extrapolation) + f * extrapolation;
    });
    return { invFreq, amplitude: 0.1 * Math.log(factor) + 1 };
  }
  return { invFreq: base, amplitude: 1 };
}

/** rotate_half RoPE of one head at `pos`. */
function rope(x: Float64Array, pos: number, t: { invFreq: Float64Array; amplitude: number }): Float64Array {
  const half = x.length / 2;
  const out = new Float64Array(x.length);
  for (let j = 0; j < half; j++) {
    const cos = Math.cos(pos * t.invFreq[j]!) * t.amplitude;
    const sin = Math.sin(pos * t.invFreq[j]!) * t.amplitude;
    out[j] = x[j]! * cos - x[j + half]! * sin;
    out[j + half] = x[j + half]! * cos + x[j]! * sin;
  }
  return out;
}

function logSoftmax(x: Float64Array): Float64Array {
  const m = Math.max(...x);
  let z = 0;
  for (const v of x) z += Math.exp(v - m);
  return x.map((v) => v - m - Math.log(z));
}

/**
 * What llama.cpp's CPU matmul computes with a weight stored as `type`: the stored weight, and the
 * input rounded to the weight's vec_dot type (F16 -> f16, BF16 -> bf16, Q8_0 -> Q8_0 blocks of 32
 * as x86's quantize_row_q8_0 makes them: d = max|x| / 127, q = round-half-even(x * 127 / max|x|)).
 */
interface MatmulView {
  readonly weight: (v: Float32Array) => Float32Array;
  readonly input: (x: Float64Array) => Float64Array;
}

const roundTrip = (encode: (v: Float32Array) => Uint8Array, dtype: StorageDType) => (v: Float32Array): Float32Array => decodeToF32(encode(v), dtype);

function q8_0Input(x: Float64Array): Float64Array {
  const f = Float32Array.from(x);
  const out = new Float64Array(f.length);
  const even = (v: number): number => (Math.abs(v % 1) === 0.5 ? 2 * Math.round(v / 2) : Math.round(v));
  for (let b = 0; b < f.length; b += 32) {
    const amax = f.subarray(b, b + 32).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    const d16 = decodeToF32(encodeF16([Math.fround(amax / 127)]), 'F16')[0]!;
    const id = amax !== 0 ? Math.fround(127 / amax) : 0;
    for (let i = b; i < b + 32; i++) out[i] = d16 * even(Math.fround(f[i]! * id));
  }
  return out;
}

const MATMUL: Readonly<Record<'F32' | 'F16' | 'BF16' | 'Q8_0', MatmulView>> = {
  F32: { weight: (v) => v, input: (x) => x },
  F16: { weight: roundTrip(encodeF16, 'F16'), input: (x) => Float64Array.from(roundTrip(encodeF16, 'F16')(Float32Array.from(x))) },
  BF16: { weight: roundTrip(encodeBf16, 'BF16'), input: (x) => Float64Array.from(roundTrip(encodeBf16, 'BF16')(Float32Array.from(x))) },
  Q8_0: { weight: (v) => dequantize(ggmlType('Q8_0'), quantizeQ8_0(v), v.length), input: q8_0Input },
};

/** Log-probs at every position; the matrices (embedding included) as llama.cpp sees them when stored as `type`. */
function referenceLogProbs(c: Cfg, w: ReadonlyMap<string, Float32Array>, tokens: readonly number[], type: keyof typeof MATMUL = 'F32'): Float64Array[] {
  const W = (name: string): Float32Array => w.get(name) ?? assert.fail(`no tensor ${name}`);
  const stored = new Map<string, Float32Array>();
  const M = (name: string): Float32Array => stored.get(name) ?? stored.set(name, MATMUL[type].weight(W(name))).get(name)!;
  const mul = (name: string, x: Float64Array, b?: Float32Array): Float64Array => linear(M(name), MATMUL[type].input(x), b);
  const H = c.hidden_size, d = headDimOf(c), nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  const tables = ropeTables(c);
  const heads = (v: Float64Array, n: number): Float64Array[] => Array.from({ length: n }, (_, h) => v.subarray(h * d, (h + 1) * d));
  const keys: Float64Array[][][] = [], values: Float64Array[][][] = []; // [layer][pos][kv head] -> [d]
  return tokens.map((token, pos) => {
    let x = Float64Array.from(M('model.embed_tokens.weight').subarray(token * H, (token + 1) * H)); // [H]
    for (let l = 0; l < c.num_hidden_layers; l++) {
      const p = `model.layers.${l}`;
      const bias = (n: string): Float32Array | undefined => w.get(`${p}.self_attn.${n}_proj.bias`);
      const h = rmsNorm(x, W(`${p}.input_layernorm.weight`), c.rms_norm_eps);
      const qkNorm = (v: Float64Array, n: 'q' | 'k'): Float64Array => (c.model_type === 'qwen3' ? rmsNorm(v, W(`${p}.self_attn.${n}_norm.weight`), c.rms_norm_eps) : v);
      const q = heads(mul(`${p}.self_attn.q_proj.weight`, h, bias('q')), nh).map((v) => rope(qkNorm(v, 'q'), pos, tables));
      const k = heads(mul(`${p}.self_attn.k_proj.weight`, h, bias('k')), nkv).map((v) => rope(qkNorm(v, 'k'), pos, tables));
      const v = heads(mul(`${p}.self_attn.v_proj.weight`, h, bias('v')), nkv);
      (keys[l] ??= []).push(k);
      (values[l] ??= []).push(v);
      const attn = new Float64Array(nh * d); // [nh * d]
      for (let hq = 0; hq < nh; hq++) {
        const g = Math.floor(hq / (nh / nkv));
        const scores = keys[l]!.map((kp) => kp[g]!.reduce((s, kv, e) => s + kv * q[hq]![e]!, 0) / Math.sqrt(d));
        const m = Math.max(...scores);
        const e = scores.map((s) => Math.exp(s - m));
        const z = e.reduce((a, b) => a + b, 0);
        values[l]!.forEach((vp, t) => {
          const weight = e[t]! / z;
          for (let i = 0; i < d; i++) attn[hq * d + i] = attn[hq * d + i]! + weight * vp[g]![i]!;
        });
      }
      const o = mul(`${p}.self_attn.o_proj.weight`, attn);
      x = x.map((xi, i) => xi + o[i]!);
      const h2 = rmsNorm(x, W(`${p}.post_attention_layernorm.weight`), c.rms_norm_eps);
      const up = mul(`${p}.mlp.up_proj.weight`, h2);
      const act = mul(`${p}.mlp.gate_proj.weight`, h2).map((g, i) => (g / (1 + Math.exp(-g))) * up[i]!);
      const down = mul(`${p}.mlp.down_proj.weight`, act);
      x = x.map((xi, i) => xi + down[i]!);
    }
    const head = c.tie_word_embeddings ? 'model.embed_tokens.weight' : 'lm_head.weight';
    return logSoftmax(mul(head, rmsNorm(x, W('model.norm.weight'), c.rms_norm_eps)));
  });
}

/** max |a - b| of each row; every entry must be finite. */
function rowDiffs(a: readonly Float64Array[], b: readonly Float64Array[]): number[] {
  assert.equal(a.length, b.length);
  return a.map((row, r) => {
    assert.equal(row.length, b[r]!.length, `row ${r} length`);
    return row.reduce((max, v, i) => {
      assert.ok(Number.isFinite(v) && Number.isFinite(b[r]![i]!), `row ${r} token ${i} is not finite`);
      return Math.max(max, Math.abs(v - b[r]![i]!));
    }, 0);
  });
}

const median = (v: readonly number[]): number => [...v].sort((x, y) => x - y)[v.length >> 1]!;
const maxAbsDiff = (a: readonly Float64Array[], b: readonly Float64Array[]): number => Math.max(...rowDiffs(a, b));

// ---- tests ----

const converted = new Map<string, { hfDir: string; c: Cfg; w: Map<string, Float32Array>; gguf: string }>();

/** The checkpoint `name` of SPECS and its F32 GGUF, written once per run. */
async function convert(name: string): Promise<{ hfDir: string; c: Cfg; w: Map<string, Float32Array>; gguf: string }> {
  const got = converted.get(name);
  if (got) return got;
  const ck = writeCheckpoint(name, SPECS[name]!, Object.keys(SPECS).indexOf(name) + 1);
  const gguf = join(dir, `${name}-f32.gguf`);
  await writeLlamaFamilyGguf(ck.hfDir, gguf, { dtype: 'F32' });
  const entry = { ...ck, gguf };
  converted.set(name, entry);
  return entry;
}

for (const name of Object.keys(SPECS)) {
  test(`${name} (${SPECS[name]!.dtype} checkpoint) -> F32 GGUF: llama.cpp log-probs match the float64 reference`, async (t) => {
    const { c, w, gguf } = await convert(name);
    const ours = referenceLogProbs(c, w, [...PROMPT, ...DECODE]);
    const theirs = await llamaCppLogProbs(gguf, PROMPT, DECODE);
    assert.equal(theirs.length, PROMPT.length + DECODE.length);
    const diff = maxAbsDiff(theirs, ours);
    t.diagnostic(`max |Δ log-prob| = ${diff.toExponential(2)} over ${theirs.length} rows x ${c.vocab_size}`);
    assert.ok(diff <= 1e-4, `max |Δ log-prob| ${diff}`);
  });
}

test('GGUF layout: names, types, shapes, the llama q/k permutation, rope_freqs and metadata keys', async () => {
  const llama3 = await convert('llama3');
  const g = GgufFile.open(llama3.gguf);
  try {
    assert.equal(g.metaString('general.architecture'), 'llama');
    assert.equal(g.metaNumber('llama.rope.dimension_count'), 16);
    assert.equal(g.metaNumber('llama.attention.key_length'), 16); // head_dim is explicit in config.json
    assert.equal(g.metaNumber('llama.vocab_size'), 300);
    assert.deepEqual(g.info('rope_freqs.weight').shape, [8]);
    assert.deepEqual(g.info('blk.1.attn_q.weight').shape, [64, 64]);
    assert.deepEqual([...g.readF32('blk.0.attn_k.weight')], [...permuteRopeRows(llama3.w.get('model.layers.0.self_attn.k_proj.weight')!, 32, 2)]);
    assert.ok(!g.metadata.has('llama.rope.scaling.type'));
  } finally {
    g.close();
  }
  for (const [name, arch] of [['qwen2', 'qwen2'], ['qwen3', 'qwen3'], ['qwen3Yarn', 'qwen3']] as const) {
    const ck = await convert(name);
    const f = GgufFile.open(ck.gguf);
    try {
      assert.equal(f.metaString('general.architecture'), arch);
      assert.equal(f.has('output.weight'), !ck.c.tie_word_embeddings);
      assert.equal(f.has('blk.0.attn_q.bias'), arch === 'qwen2');
      assert.equal(f.metadata.has(`${arch}.attention.key_length`), ck.c.head_dim !== undefined);
      assert.ok(!f.metadata.has(`${arch}.vocab_size`) && !f.metadata.has(`${arch}.rope.dimension_count`));
      // Qwen is half-split RoPE in both worlds: q rows are copied unpermuted
      assert.deepEqual([...f.readF32('blk.1.attn_q.weight')], [...ck.w.get('model.layers.1.self_attn.q_proj.weight')!]);
      if (arch === 'qwen3') assert.deepEqual(f.info('blk.0.attn_k_norm.weight').shape, [24]);
      if (name === 'qwen3Yarn') {
        assert.equal(f.metaString('qwen3.rope.scaling.type'), 'yarn');
        assert.equal(f.metaNumber('qwen3.rope.scaling.factor'), 4);
        assert.equal(f.metaNumber('qwen3.rope.scaling.original_context_length'), 64);
      }
    } finally {
      f.close();
    }
  }
});

test('F16, BF16 and Q8_0 GGUFs: llama.cpp matches the reference with its matmul rounding emulated', async (t) => {
  for (const [name, dtypes] of [['llama', ['F16', 'BF16', 'Q8_0']], ['qwen3', ['Q8_0']]] as const) {
    const { hfDir, c, w, gguf } = await convert(name);
    const f32 = await llamaCppLogProbs(gguf, PROMPT, DECODE);
    for (const dtype of dtypes) {
      const path = join(dir, `${name}-${dtype}.gguf`);
      await writeLlamaFamilyGguf(hfDir, path, { dtype });
      const g = GgufFile.open(path);
      try {
        for (const matrix of ['token_embd.weight', 'blk.0.attn_q.weight', 'blk.1.ffn_down.weight']) assert.equal(g.info(matrix).type.name, dtype, matrix);
        for (const f32Tensor of ['blk.0.attn_norm.weight', 'output_norm.weight']) assert.equal(g.info(f32Tensor).type.name, 'F32', f32Tensor);
      } finally {
        g.close();
      }
      const theirs = await llamaCppLogProbs(path, PROMPT, DECODE);
      // Emulating the input rounding is exact only while llama.cpp's float32 input and our float64
      // one round the same way: a value near a rounding boundary can round apart and move its row by
      // up to ~1e-2 (these tiny random models are sharp). So most rows, not all, must match; without
      // the emulation every row is off by 1e-3 or more.
      const rows = rowDiffs(theirs, referenceLogProbs(c, w, [...PROMPT, ...DECODE], dtype));
      const matching = rows.filter((d) => d <= 1e-4).length;
      // A sanity bound against the F32 file: these sharp models move by 0.2 (llama) to 0.7 (qwen3,
      // logits through the tied std-1 embedding) under Q8_0; a wrong layout moves them by 5 or more.
      const vsF32 = maxAbsDiff(theirs, f32);
      t.diagnostic(`${name} ${dtype}: ${matching}/${rows.length} rows within 1e-4 of the emulating reference (median ${median(rows).toExponential(2)}, max ${Math.max(...rows).toExponential(2)}); max vs the F32 file ${vsF32.toExponential(2)}`);
      assert.ok(median(rows) <= 1e-4 && Math.max(...rows) <= 2e-2, `${name} ${dtype}: rows vs the emulating reference ${rows.map((d) => d.toExponential(1)).join(' ')}`);
      assert.ok(vsF32 <= 1, `${name} ${dtype}: max |Δ log-prob| vs the F32 file ${vsF32}`);
    }
  }
});

test('checkpoints llama.cpp could not hold are refused, naming the file and the tensor or key', async () => {
  const { hfDir, c } = writeCheckpoint('refused', SPECS['llama']!, 9);
  const out = join(dir, 'refused.gguf');
  writeFileSync(join(hfDir, 'config.json'), JSON.stringify({ ...c, intermediate_size: 64 }));
  await assert.rejects(writeLlamaFamilyGguf(hfDir, out, { dtype: 'F32' }), /gate_proj\.weight.*\[96, 64\] does not match config\.json, which implies \[64, 64\]/);
  writeFileSync(join(hfDir, 'config.json'), JSON.stringify(c));
  const extra = (name: string) => ({ name, dtype: 'F32' as const, shape: [8], data: new Uint8Array(32) });
  writeSafetensors(join(hfDir, 'extra.safetensors'), [extra('model.layers.0.self_attn.rotary_emb.inv_freq'), extra('model.layers.0.mlp.experts.0.weight')]);
  await assert.rejects(writeLlamaFamilyGguf(hfDir, out, { dtype: 'F32' }), /experts\.0\.weight.*could not map it/);
  writeFileSync(join(hfDir, 'config.json'), JSON.stringify({ ...c, model_type: 'qwen3', head_dim: 16, attention_bias: true }));
  await assert.rejects(writeLlamaFamilyGguf(hfDir, out, { dtype: 'F32' }), /attention_bias.*o_proj has a bias/);
});

test('file tensor types: 1-D tensors and norms F32, rows that are not whole blocks fall back as llama-quantize does, the Q4_K_M mix', () => {
  const ctx = { layers: 8, tiedEmbedding: false };
  const type = (name: string, shape: number[], out: Parameters<typeof ggufTensorType>[2], c = ctx) => ggufTensorType(name, shape, out, c);
  assert.equal(type('blk.0.attn_q.bias', [64], 'Q8_0'), 'F32');
  assert.equal(type('blk.0.attn_q_norm.weight', [64, 64], 'BF16'), 'F32');
  assert.equal(type('blk.0.ffn_down.weight', [64, 40], 'Q8_0'), 'F16');
  assert.equal(type('blk.0.ffn_down.weight', [64, 96], 'Q8_0'), 'Q8_0');
  assert.equal(type('output.weight', [300, 64], 'BF16'), 'BF16');
  assert.equal(type('blk.0.ffn_up.weight', [512, 96], 'Q4_K'), 'Q5_0');
  assert.equal(type('blk.0.ffn_up.weight', [512, 96], 'Q6_K'), 'Q8_0');
  assert.equal(type('blk.0.ffn_up.weight', [512, 40], 'Q4_K'), 'F16');
  assert.equal(type('blk.0.ffn_up.weight', [512, 256], 'Q3_K'), 'Q3_K');
  // Q4_K_M over 8 layers: more bits for layers 0, 3, 6, 7 (llama_tensor_get_type's use_more_bits)
  assert.deepEqual([...Array(8).keys()].filter((l) => useMoreBits(l, 8)), [0, 3, 6, 7]);
  assert.equal(type('blk.3.attn_v.weight', [256, 256], 'Q4_K_M'), 'Q6_K');
  assert.equal(type('blk.4.ffn_down.weight', [256, 512], 'Q4_K_M'), 'Q4_K');
  assert.equal(type('blk.3.attn_q.weight', [256, 256], 'Q4_K_M'), 'Q4_K');
  assert.equal(type('output.weight', [300, 256], 'Q4_K_M'), 'Q6_K');
  assert.equal(type('token_embd.weight', [300, 256], 'Q4_K_M'), 'Q4_K');
  assert.equal(type('token_embd.weight', [300, 256], 'Q4_K_M', { layers: 8, tiedEmbedding: true }), 'Q6_K');
});

test('Q8_0 quantize -> dequantize: ggml scale, each value within half a step', (t) => {
  // magnitudes from 1e-3 to 1e2, one all-zero block
  const values = randomValues(99, 32 * 64, 1).map((v, i) => (Math.floor(i / 32) === 5 ? 0 : v * 10 ** ((Math.floor(i / 32) % 6) - 3)));
  const bytes = quantizeQ8_0(values);
  const back = dequantize(ggmlType('Q8_0'), bytes, values.length);
  let worst = 0;
  for (let b = 0; b < values.length / 32; b++) {
    const block = values.subarray(b * 32, b * 32 + 32);
    const d = Math.fround(block.reduce((m, v) => Math.max(m, Math.abs(v)), 0) / 127);
    assert.equal(bytes[b * 34]! | (bytes[b * 34 + 1]! << 8), f32ToF16(d), `block ${b} scale`);
    const d16 = decodeToF32(bytes.subarray(b * 34, b * 34 + 2), 'F16')[0]!;
    for (let i = 0; i < 32; i++) {
      const q = (bytes[b * 34 + 2 + i]! << 24) >> 24;
      const err = Math.abs(block[i]! - back[b * 32 + i]!);
      // q is rounded against the float32 d and then scaled by its f16 rounding d16, so the bound is
      // half a step plus the scale's rounding carried by q (at most 127 x 2^-11 relative, ~0.06 d)
      assert.ok(err <= d / 2 + Math.abs(q) * Math.abs(d - d16) + 1e-6 * d, `block ${b} value ${i}: error ${err}, d ${d}`);
      if (d > 0) worst = Math.max(worst, err / d16);
    }
  }
  t.diagnostic(`worst |x - dequant(quant(x))| = ${worst.toFixed(4)} d16`);
});
