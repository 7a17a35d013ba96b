// The benchmark model: a DeepSeek-V3-architecture MoE (MLA with q_lora, sigmoid routing with
// noaux_tc bias correction and group-limited top-k, shared expert, YaRN rope, one leading dense
// layer) sized like a ~0.7B-parameter model: ~1.35 GB in BF16 (well above the L3 cache) while a
// decoded token reads only ~0.28 GB of weights.

/** The fields of DeepSeek-V3's config.json that shape the model, with the benchmark's sizes. */
export interface BenchModelConfig {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly moe_intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly first_k_dense_replace: number;
  readonly num_attention_heads: number;
  readonly q_lora_rank: number;
  readonly kv_lora_rank: number;
  readonly qk_nope_head_dim: number;
  readonly qk_rope_head_dim: number;
  readonly v_head_dim: number;
  readonly n_routed_experts: number;
  readonly n_shared_experts: number;
  readonly num_experts_per_tok: number;
  readonly n_group: number;
  readonly topk_group: number;
  readonly routed_scaling_factor: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly max_position_embeddings: number;
  readonly rope_scaling: {
    readonly type: 'yarn';
    readonly factor: number;
    readonly original_max_position_embeddings: number;
    readonly beta_fast: number;
    readonly beta_slow: number;
    readonly mscale: number;
    readonly mscale_all_dim: number;
  };
}

export const BENCH_MODEL: BenchModelConfig = Object.freeze({
  vocab_size: 32768,
  hidden_size: 1024,
  intermediate_size: 2816,
  moe_intermediate_size: 256,
  num_hidden_layers: 12,
  first_k_dense_replace: 1,
  num_attention_heads: 16,
  q_lora_rank: 384,
  kv_lora_rank: 256,
  qk_nope_head_dim: 64,
  qk_rope_head_dim: 32,
  v_head_dim: 64,
  n_routed_experts: 64,
  n_shared_experts: 1,
  num_experts_per_tok: 6,
  n_group: 8,
  topk_group: 4,
  routed_scaling_factor: 2.5,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 163840,
  rope_scaling: Object.freeze({
    type: 'yarn' as const,
    factor: 40,
    original_max_position_embeddings: 4096,
    beta_fast: 32,
    beta_slow: 1,
    mscale: 1.0,
    mscale_all_dim: 1.0,
  }),
});

/** Seed of the random weights; part of the model's identity (see manifest.json). */
export const BENCH_SEED = 20250101;

/** config.json exactly as DeepSeek-V3 spells it (model_type deepseek_v3), with the benchmark sizes. */
export function hfConfigJson(c: BenchModelConfig): Record<string, unknown> {
  return {
    architectures: ['DeepseekV3ForCausalLM'],
    attention_bias: false,
    attention_dropout: 0.0,
    bos_token_id: 0,
    eos_token_id: 1,
    ep_size: 1,
    first_k_dense_replace: c.first_k_dense_replace,
    hidden_act: 'silu',
    hidden_size: c.hidden_size,
    initializer_range: 0.02,
    intermediate_size: c.intermediate_size,
    kv_lora_rank: c.kv_lora_rank,
    max_position_embeddings: c.max_position_embeddings,
    model_type: 'deepseek_v3',
    moe_intermediate_size: c.moe_intermediate_size,
    moe_layer_freq: 1,
    n_group: c.n_group,
    n_routed_experts: c.n_routed_experts,
    n_shared_experts: c.n_shared_experts,
    norm_topk_prob: true,
    num_attention_heads: c.num_attention_heads,
    num_experts_per_tok: c.num_experts_per_tok,
    num_hidden_layers: c.num_hidden_layers,
    num_key_value_heads: c.num_attention_heads,
    num_nextn_predict_layers: 0,
    q_lora_rank: c.q_lora_rank,
    qk_nope_head_dim: c.qk_nope_head_dim,
    qk_rope_head_dim: c.qk_rope_head_dim,
    rms_norm_eps: c.rms_norm_eps,
    rope_scaling: { ...c.rope_scaling },
    rope_theta: c.rope_theta,
    routed_scaling_factor: c.routed_scaling_factor,
    scoring_func: 'sigmoid',
    seq_aux: true,
    tie_word_embeddings: false,
    topk_group: c.topk_group,
    topk_method: 'noaux_tc',
    torch_dtype: 'bfloat16',
    transformers_version: '4.44.2',
    use_cache: true,
    v_head_dim: c.v_head_dim,
    vocab_size: c.vocab_size,
  };
}

/** How a tensor's random values are drawn. */
export type Init = 'weight' | 'norm' | 'bias';

export interface HfTensor {
  readonly name: string;
  readonly dtype: 'BF16' | 'F32';
  /** Row-major, as in the safetensors header. */
  readonly shape: readonly number[];
  readonly init: Init;
  /** Parameters of this tensor read for one decoded token (whole tensor, one expert's share, or one row). */
  readonly activeParams: number;
}

/** Every tensor of the Hugging Face checkpoint, named as in DeepSeek-V3's model.safetensors. */
export function hfTensors(c: BenchModelConfig): HfTensor[] {
  const out: HfTensor[] = [];
  const add = (name: string, shape: number[], init: Init = 'weight', dtype: 'BF16' | 'F32' = 'BF16', active?: number): void => {
    const n = shape.reduce((a, b) => a * b, 1);
    out.push({ name, dtype, shape, init, activeParams: active ?? n });
  };
  const h = c.hidden_size;
  const qkHead = c.qk_nope_head_dim + c.qk_rope_head_dim;
  add('model.embed_tokens.weight', [c.vocab_size, h], 'weight', 'BF16', h); // one row per token
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [h], 'norm');
    add(`${p}.self_attn.q_a_proj.weight`, [c.q_lora_rank, h]);
    add(`${p}.self_attn.q_a_layernorm.weight`, [c.q_lora_rank], 'norm');
    add(`${p}.self_attn.q_b_proj.weight`, [c.num_attention_heads * qkHead, c.q_lora_rank]);
    add(`${p}.self_attn.kv_a_proj_with_mqa.weight`, [c.kv_lora_rank + c.qk_rope_head_dim, h]);
    add(`${p}.self_attn.kv_a_layernorm.weight`, [c.kv_lora_rank], 'norm');
    add(`${p}.self_attn.kv_b_proj.weight`, [c.num_attention_heads * (c.qk_nope_head_dim + c.v_head_dim), c.kv_lora_rank]);
    add(`${p}.self_attn.o_proj.weight`, [h, c.num_attention_heads * c.v_head_dim]);
    add(`${p}.post_attention_layernorm.weight`, [h], 'norm');
    if (l < c.first_k_dense_replace) {
      add(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, h]);
      add(`${p}.mlp.up_proj.weight`, [c.intermediate_size, h]);
      add(`${p}.mlp.down_proj.weight`, [h, c.intermediate_size]);
      continue;
    }
    const m = c.moe_intermediate_size;
    const share = c.num_experts_per_tok / c.n_routed_experts;
    add(`${p}.mlp.gate.weight`, [c.n_routed_experts, h]);
    add(`${p}.mlp.gate.e_score_correction_bias`, [c.n_routed_experts], 'bias', 'F32');
    for (let e = 0; e < c.n_routed_experts; e++) {
      add(`${p}.mlp.experts.${e}.gate_proj.weight`, [m, h], 'weight', 'BF16', m * h * share);
      add(`${p}.mlp.experts.${e}.up_proj.weight`, [m, h], 'weight', 'BF16', m * h * share);
      add(`${p}.mlp.experts.${e}.down_proj.weight`, [h, m], 'weight', 'BF16', m * h * share);
    }
    const s = c.n_shared_experts * m;
    add(`${p}.mlp.shared_experts.gate_proj.weight`, [s, h]);
    add(`${p}.mlp.shared_experts.up_proj.weight`, [s, h]);
    add(`${p}.mlp.shared_experts.down_proj.weight`, [h, s]);
  }
  add('model.norm.weight', [h], 'norm');
  add('lm_head.weight', [c.vocab_size, h]);
  return out;
}

export interface ParamSummary {
  readonly totalParams: number;
  readonly activeParamsPerToken: number;
  /** Bytes of weights read per decoded token at 2 bytes per parameter (BF16). */
  readonly activeBytesPerTokenBf16: number;
  readonly totalBytesBf16: number;
}

export function paramSummary(c: BenchModelConfig): ParamSummary {
  return paramSummaryOf(hfTensors(c));
}

/** Total and per-token parameter counts of any checkpoint's tensor list. */
export function paramSummaryOf(tensors: readonly HfTensor[]): ParamSummary {
  let total = 0;
  let active = 0;
  for (const t of tensors) {
    total += t.shape.reduce((a, b) => a * b, 1);
    active += t.activeParams;
  }
  return {
    totalParams: total,
    activeParamsPerToken: Math.round(active),
    activeBytesPerTokenBf16: Math.round(active) * 2,
    totalBytesBf16: total * 2,
  };
}
