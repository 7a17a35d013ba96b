// Random tiny DeepSeek checkpoints (V2 / V3 / V3.2 layouts) written as Hugging Face directories.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import type { TensorToWrite } from '../../src/formats/safetensors-writer.js';
import { f32ToBf16 } from '../../src/formats/dtype.js';
import { randomValues } from '../../src/conformance/random.js';

export { randomValues };

export function bf16Bytes(values: Float32Array): Uint8Array {
  const out = new Uint16Array(values.length);
  values.forEach((v, i) => (out[i] = f32ToBf16(v)));
  return new Uint8Array(out.buffer);
}

export type TinyKind = 'deepseek_v2' | 'deepseek_v3' | 'deepseek_v32';

export function tinyConfig(kind: TinyKind, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const base: Record<string, unknown> = {
    model_type: kind,
    vocab_size: 96,
    hidden_size: 64,
    num_hidden_layers: 2,
    num_attention_heads: 2,
    num_key_value_heads: 2,
    q_lora_rank: kind === 'deepseek_v2' ? null : 32,
    kv_lora_rank: 32,
    qk_nope_head_dim: 16,
    qk_rope_head_dim: 8,
    v_head_dim: 16,
    intermediate_size: 96,
    moe_intermediate_size: 32,
    n_routed_experts: 4,
    n_shared_experts: 1,
    num_experts_per_tok: 2,
    n_group: 2,
    topk_group: 1,
    first_k_dense_replace: 1,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    rope_scaling: { type: 'yarn', factor: 4, original_max_position_embeddings: 64, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: 1 },
    max_position_embeddings: 512,
    bos_token_id: 0,
    eos_token_id: 1,
    tie_word_embeddings: false,
  };
  if (kind === 'deepseek_v2') Object.assign(base, { scoring_func: 'softmax', topk_method: 'group_limited_greedy', norm_topk_prob: false, routed_scaling_factor: 2.0 });
  else Object.assign(base, { scoring_func: 'sigmoid', topk_method: 'noaux_tc', norm_topk_prob: true, routed_scaling_factor: 2.5 });
  if (kind === 'deepseek_v32') Object.assign(base, { index_n_heads: 4, index_head_dim: 128, index_topk: 8 });
  return { ...base, ...overrides };
}

/** All tensors a config implies, BF16 (router bias F32), random with a fixed seed. */
export function tinyTensors(cfg: Record<string, unknown>, seed = 7): TensorToWrite[] {
  const n = (k: string) => cfg[k] as number;
  const H = n('hidden_size');
  const heads = n('num_attention_heads');
  const qk = n('qk_nope_head_dim') + n('qk_rope_head_dim');
  const r = n('kv_lora_rank');
  const qLora = cfg['q_lora_rank'] as number | null;
  const tensors: TensorToWrite[] = [];
  let s = seed;
  const mat = (name: string, shape: number[], std = 0.08, mean = 0) =>
    tensors.push({ name, dtype: 'BF16', shape, data: bf16Bytes(randomValues(s++, shape.reduce((a, b) => a * b, 1), std, mean)) });
  const norm = (name: string, dim: number) => mat(name, [dim], 0.05, 1);
  mat('model.embed_tokens.weight', [n('vocab_size'), H], 0.5);
  mat('lm_head.weight', [n('vocab_size'), H], 0.2);
  norm('model.norm.weight', H);
  for (let l = 0; l < n('num_hidden_layers'); l++) {
    const p = `model.layers.${l}`;
    norm(`${p}.input_layernorm.weight`, H);
    norm(`${p}.post_attention_layernorm.weight`, H);
    if (qLora) {
      mat(`${p}.self_attn.q_a_proj.weight`, [qLora, H]);
      norm(`${p}.self_attn.q_a_layernorm.weight`, qLora);
      mat(`${p}.self_attn.q_b_proj.weight`, [heads * qk, qLora], 0.15);
    } else mat(`${p}.self_attn.q_proj.weight`, [heads * qk, H], 0.15);
    mat(`${p}.self_attn.kv_a_proj_with_mqa.weight`, [r + n('qk_rope_head_dim'), H]);
    norm(`${p}.self_attn.kv_a_layernorm.weight`, r);
    mat(`${p}.self_attn.kv_b_proj.weight`, [heads * (n('qk_nope_head_dim') + n('v_head_dim')), r], 0.15);
    mat(`${p}.self_attn.o_proj.weight`, [H, heads * n('v_head_dim')]);
    if (cfg['model_type'] === 'deepseek_v32') {
      const ih = n('index_n_heads');
      mat(`${p}.self_attn.indexer.wq_b.weight`, [ih * 128, qLora!], 0.15);
      mat(`${p}.self_attn.indexer.wk.weight`, [128, H]);
      norm(`${p}.self_attn.indexer.k_norm.weight`, 128);
      mat(`${p}.self_attn.indexer.k_norm.bias`, [128], 0.05);
      mat(`${p}.self_attn.indexer.weights_proj.weight`, [ih, H], 0.1);
    }
    const mlp = (prefix: string, inner: number) => {
      mat(`${prefix}.gate_proj.weight`, [inner, H]);
      mat(`${prefix}.up_proj.weight`, [inner, H]);
      mat(`${prefix}.down_proj.weight`, [H, inner]);
    };
    if (l < n('first_k_dense_replace')) mlp(`${p}.mlp`, n('intermediate_size'));
    else {
      mat(`${p}.mlp.gate.weight`, [n('n_routed_experts'), H], 0.3);
      if (cfg['topk_method'] === 'noaux_tc') {
        tensors.push({ name: `${p}.mlp.gate.e_score_correction_bias`, dtype: 'F32', shape: [n('n_routed_experts')], data: new Uint8Array(randomValues(s++, n('n_routed_experts'), 0.05).buffer) });
      }
      for (let e = 0; e < n('n_routed_experts'); e++) mlp(`${p}.mlp.experts.${e}`, n('moe_intermediate_size'));
      if (n('n_shared_experts') > 0) mlp(`${p}.mlp.shared_experts`, n('n_shared_experts') * n('moe_intermediate_size'));
    }
  }
  return tensors;
}

/** Writes a random tiny checkpoint; returns its directory. */
export function writeTinyModel(kind: TinyKind, overrides: Record<string, unknown> = {}, dir?: string): string {
  const out = dir ?? mkdtempSync(join(tmpdir(), `tessera-${kind}-`));
  mkdirSync(out, { recursive: true });
  const cfg = tinyConfig(kind, overrides);
  writeFileSync(join(out, 'config.json'), JSON.stringify(cfg, null, 2));
  writeSafetensors(join(out, 'model.safetensors'), tinyTensors(cfg));
  return out;
}
