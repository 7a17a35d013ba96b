// The generator on tiny configs: the GGUF holds the same values as the safetensors checkpoint,
// with llama.cpp's deepseek2 names, shapes, types and layouts (kv_b split, experts stacked), or
// its qwen2 names (matrices unpermuted, biases and norms widened to F32).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile } from '../src/formats/gguf.js';
import { weightBytesPerToken } from '../src/cli/bench.js';
import { openModel } from '../src/models/open-model.js';
import { parseLlamaConfig } from '../src/models/llama-config.js';
import { dsv3Recipe, qwen2Recipe } from './bench-models.js';
import { makeBenchModel } from './make-model.js';
import { BENCH_MODEL, hfTensors, paramSummary, paramSummaryOf } from './model-config.js';
import type { BenchModelConfig } from './model-config.js';
import { QWEN2_BENCH_MODEL, qwen2Tensors } from './qwen2-config.js';
import type { Qwen2BenchConfig } from './qwen2-config.js';

const root = mkdtempSync(join(tmpdir(), 'tessera-bench-model-'));
const dir = join(root, 'dsv3');
test.after(() => rmSync(root, { recursive: true, force: true }));

const tiny: BenchModelConfig = {
  ...BENCH_MODEL,
  vocab_size: 320,
  hidden_size: 64,
  intermediate_size: 96,
  moe_intermediate_size: 32,
  num_hidden_layers: 3,
  num_attention_heads: 4,
  q_lora_rank: 48,
  kv_lora_rank: 32,
  qk_nope_head_dim: 16,
  qk_rope_head_dim: 8,
  v_head_dim: 16,
  n_routed_experts: 8,
  num_experts_per_tok: 2,
  n_group: 4,
  topk_group: 2,
};

/** Tensors of a safetensors file as raw bytes, by name. */
function readSafetensors(path: string): Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }> {
  const all = readFileSync(path);
  const n = Number(all.readBigUInt64LE(0));
  const header = JSON.parse(all.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const out = new Map<string, { dtype: string; shape: number[]; bytes: Uint8Array }>();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    out.set(name, { dtype: t.dtype, shape: t.shape, bytes: new Uint8Array(all.buffer, all.byteOffset + 8 + n + t.data_offsets[0], t.data_offsets[1] - t.data_offsets[0]) });
  }
  return out;
}

function bf16(bytes: Uint8Array): Uint16Array {
  return new Uint16Array(bytes.slice().buffer);
}

test('tiny bench model: safetensors and GGUF hold identical values', async () => {
  const files = await makeBenchModel(dsv3Recipe(tiny, 7), dir, { log: () => {} });
  const st = readSafetensors(files.safetensorsPath);
  assert.equal(st.size, hfTensors(tiny).length);
  const config = JSON.parse(readFileSync(join(files.hfDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  assert.equal(config.model_type, 'deepseek_v3');
  assert.equal(config.topk_method, 'noaux_tc');

  const g = GgufFile.open(files.ggufPath);
  try {
    assert.equal(g.architecture, 'deepseek2');
    assert.equal(g.metaNumber('deepseek2.attention.head_count_kv'), 1);
    assert.equal(g.metaNumber('deepseek2.attention.key_length'), 32 + 8);
    assert.equal(g.metaNumber('deepseek2.attention.key_length_mla'), 24);
    assert.equal(g.metaNumber('deepseek2.leading_dense_block_count'), 1);
    assert.equal(g.metaStrings('tokenizer.ggml.tokens').length, 320);
    assert.equal(g.metaStrings('tokenizer.ggml.merges').length, 320 - 258);

    // Same bytes where llama.cpp keeps the layout.
    assert.deepEqual(g.read('token_embd.weight'), st.get('model.embed_tokens.weight')!.bytes);
    assert.deepEqual(g.info('token_embd.weight').ne, [64, 320]);
    assert.deepEqual(g.read('output.weight'), st.get('lm_head.weight')!.bytes);
    assert.deepEqual(g.read('blk.1.exp_probs_b.bias'), st.get('model.layers.1.mlp.gate.e_score_correction_bias')!.bytes);
    assert.equal(g.info('blk.1.exp_probs_b.bias').type.name, 'F32');

    // Norms and router widened to F32 exactly.
    const norm = g.readF32('blk.2.attn_norm.weight');
    const normSrc = bf16(st.get('model.layers.2.input_layernorm.weight')!.bytes);
    normSrc.forEach((b, i) => assert.equal(new Uint32Array(norm.buffer)[i], b << 16));
    assert.equal(g.info('blk.1.ffn_gate_inp.weight').type.name, 'F32');

    // kv_b_proj [H*(nope+v), r] split into attn_k_b [H, r, nope] (transposed) and attn_v_b [H, v, r].
    const kvb = bf16(st.get('model.layers.1.self_attn.kv_b_proj.weight')!.bytes);
    const kb = bf16(g.read('blk.1.attn_k_b.weight'));
    const vb = bf16(g.read('blk.1.attn_v_b.weight'));
    assert.deepEqual(g.info('blk.1.attn_k_b.weight').ne, [16, 32, 4]);
    assert.deepEqual(g.info('blk.1.attn_v_b.weight').ne, [32, 16, 4]);
    for (let h = 0; h < 4; h++) {
      for (let j = 0; j < 32; j++) {
        for (let i = 0; i < 16; i++) assert.equal(kb[h * 32 * 16 + j * 16 + i], kvb[(h * 32 + i) * 32 + j]);
        for (let i = 0; i < 16; i++) assert.equal(vb[h * 16 * 32 + i * 32 + j], kvb[(h * 32 + 16 + i) * 32 + j]);
      }
    }

    // Experts stacked in expert order.
    const down = g.info('blk.2.ffn_down_exps.weight');
    assert.deepEqual(down.shape, [8, 64, 32]);
    const per = down.byteLength / 8;
    for (const e of [0, 5, 7]) {
      assert.deepEqual(g.readRange(down.name, e * per, per), st.get(`model.layers.2.mlp.experts.${e}.down_proj.weight`)!.bytes);
    }
    assert.equal(g.has('blk.0.ffn_gate.weight'), true);
    assert.equal(g.has('blk.0.ffn_gate_exps.weight'), false);
  } finally {
    g.close();
  }
  // Values look like N(0, 0.02).
  const w = bf16(st.get('model.layers.0.mlp.up_proj.weight')!.bytes);
  const f = new Float32Array(new Uint32Array(Array.from(w, (b) => b << 16)).buffer);
  const mean = f.reduce((a, b) => a + b, 0) / f.length;
  const sd = Math.sqrt(f.reduce((a, b) => a + (b - mean) ** 2, 0) / f.length);
  assert.ok(Math.abs(mean) < 0.002 && Math.abs(sd - 0.02) < 0.002, `mean ${mean} sd ${sd}`);

  // A second call reuses the files.
  const again = await makeBenchModel(dsv3Recipe(tiny, 7), dir, { log: () => assert.fail('should not regenerate') });
  assert.equal(again.ggufActiveBytesPerToken, files.ggufActiveBytesPerToken);
});

test('the full bench model is ~0.7B params, 1-1.5 GB, with a small active share', () => {
  const p = paramSummary(BENCH_MODEL);
  assert.ok(p.totalBytesBf16 > 1e9 && p.totalBytesBf16 < 1.5e9, `${p.totalBytesBf16}`);
  assert.ok(p.activeBytesPerTokenBf16 < p.totalBytesBf16 / 4);
});

const tinyQwen2: Qwen2BenchConfig = {
  ...QWEN2_BENCH_MODEL,
  vocab_size: 320,
  hidden_size: 64,
  intermediate_size: 96,
  num_hidden_layers: 2,
  num_attention_heads: 4,
  num_key_value_heads: 2,
  max_position_embeddings: 512,
  bos_token_id: 300,
  eos_token_id: 301,
};

test('tiny qwen2 bench model: a Qwen2 checkpoint and its llama.cpp qwen2 GGUF hold identical values', async () => {
  const recipe = qwen2Recipe(tinyQwen2, 11);
  const files = await makeBenchModel(recipe, join(root, 'qwen2'), { log: () => {} });
  const st = readSafetensors(files.safetensorsPath);
  assert.equal(st.size, 2 * 12 + 3);
  assert.deepEqual(st.get('model.layers.1.self_attn.k_proj.weight')!.shape, [32, 64]);
  assert.equal(st.get('model.layers.1.self_attn.k_proj.bias')!.dtype, 'BF16');
  const raw = JSON.parse(readFileSync(join(files.hfDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const c = parseLlamaConfig('config.json', raw);
  assert.equal(c.modelType, 'qwen2');
  assert.equal(c.headDim, 16);
  assert.equal(c.qkvBias, true);
  assert.equal(c.tieWordEmbeddings, false);

  const g = GgufFile.open(files.ggufPath);
  try {
    assert.equal(g.architecture, 'qwen2');
    assert.equal(g.metaNumber('qwen2.attention.head_count_kv'), 2);
    assert.equal(g.metaNumber('qwen2.block_count'), 2);
    // Qwen's RoPE is half-split in both worlds: q and k keep the checkpoint's bytes.
    assert.deepEqual(g.read('blk.1.attn_q.weight'), st.get('model.layers.1.self_attn.q_proj.weight')!.bytes);
    assert.deepEqual(g.read('blk.0.ffn_down.weight'), st.get('model.layers.0.mlp.down_proj.weight')!.bytes);
    assert.deepEqual(g.read('output.weight'), st.get('lm_head.weight')!.bytes);
    assert.deepEqual(g.info('token_embd.weight').ne, [64, 320]);
    for (const [gguf, hf] of [['blk.1.attn_k.bias', 'model.layers.1.self_attn.k_proj.bias'], ['output_norm.weight', 'model.norm.weight']] as const) {
      assert.equal(g.info(gguf).type.name, 'F32');
      const wide = new Uint32Array(g.readF32(gguf).buffer);
      bf16(st.get(hf)!.bytes).forEach((b, i) => assert.equal(wide[i], (b << 16) >>> 0));
    }
    // Per token: every GGUF tensor but the embedding, of which one row.
    let expected = 0;
    for (const t of g.tensors.values()) expected += t.name === 'token_embd.weight' ? t.byteLength / 320 : t.byteLength;
    assert.equal(files.ggufActiveBytesPerToken, expected);
  } finally {
    g.close();
  }
  // Tessera counts the same bytes per token from the checkpoint as the bench does from its tensor list.
  const opened = openModel(files.hfDir);
  try {
    assert.equal(weightBytesPerToken(opened), files.params.activeBytesPerTokenBf16);
  } finally {
    opened.close();
  }

  const again = await makeBenchModel(recipe, join(root, 'qwen2'), { log: () => assert.fail('should not regenerate') });
  assert.equal(again.ggufActiveBytesPerToken, files.ggufActiveBytesPerToken);
  // Another seed is another model.
  let regenerated = false;
  await makeBenchModel(qwen2Recipe(tinyQwen2, 12), join(root, 'qwen2'), { log: () => { regenerated = true; } });
  assert.ok(regenerated);
});

test('the full qwen2 bench model has DeepSeek-R1-Distill-Qwen-1.5B\'s 1.78B params, 3.55 GB in BF16', () => {
  const p = paramSummaryOf(qwen2Tensors(QWEN2_BENCH_MODEL));
  assert.equal(p.totalParams, 1_777_088_000);
  assert.equal(p.totalParams - p.activeParamsPerToken, (151936 - 1) * 1536);
});
