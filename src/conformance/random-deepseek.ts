// Seeded random DeepSeek-V2 / V3 / V3.2 configs that cross the boundaries where kernels change
// regime: head counts that pick each decode head block (8/4/2/1), widths that leave partial
// 128-blocks for FP8, experts per token up to the group limit, dense and MoE layer mixes, softmax
// and sigmoid routing, indexer top-k below and above the prompt length, YaRN on and off.
import { picker } from './random.js';

export function randomDeepseekConfig(seed: number, dtype: 'BF16' | 'FP8'): Record<string, unknown> {
  const { pick, int } = picker(seed);
  const kind = pick(['deepseek_v2', 'deepseek_v3', 'deepseek_v32', 'deepseek_v32'] as const);
  const v2 = kind === 'deepseek_v2';
  const experts = pick([4, 8, 16]);
  // noaux_tc ranks a group by its top-2 scores, so a group needs two experts
  const nGroup = pick([1, 2, 4].filter((g) => experts % g === 0 && (v2 || experts / g >= 2)));
  const topkGroup = pick([1, 2, 4].filter((g) => g <= nGroup));
  const perToken = pick([1, 2, 3, 6, 8].filter((k) => k <= topkGroup * (experts / nGroup)));
  const heads = pick([1, 2, 3, 4, 8]);
  const layers = int(2, 3);
  const config: Record<string, unknown> = {
    model_type: kind,
    vocab_size: int(96, 300),
    hidden_size: pick([64, 160, 256]),
    num_hidden_layers: layers,
    num_attention_heads: heads,
    num_key_value_heads: heads,
    q_lora_rank: v2 ? pick([null, 64]) : pick([32, 96, 128]),
    kv_lora_rank: kind === 'deepseek_v32' ? pick([128, 256]) : pick([32, 64, 160]),
    qk_nope_head_dim: pick([16, 32, 48]),
    qk_rope_head_dim: pick([8, 16, 32, 64]),
    v_head_dim: pick([16, 32]),
    intermediate_size: pick([96, 192]),
    moe_intermediate_size: pick([32, 64]),
    n_routed_experts: experts,
    n_shared_experts: pick([0, 1, 2]),
    num_experts_per_tok: perToken,
    n_group: nGroup,
    topk_group: topkGroup,
    first_k_dense_replace: pick([0, 1, 2].filter((d) => d < layers)),
    moe_layer_freq: pick([1, 1, 2]),
    rms_norm_eps: 1e-6,
    rope_theta: pick([10000, 1000000]),
    max_position_embeddings: 4096,
    bos_token_id: 0,
    eos_token_id: 1,
    tie_word_embeddings: false,
  };
  if (pick([true, false])) {
    config['rope_scaling'] = { type: 'yarn', factor: pick([4, 40]), original_max_position_embeddings: 64, beta_fast: 32, beta_slow: 1, mscale: 1, mscale_all_dim: pick([0, 1]) };
  }
  if (v2) {
    Object.assign(config, {
      scoring_func: 'softmax',
      topk_method: nGroup > 1 ? 'group_limited_greedy' : 'greedy',
      norm_topk_prob: pick([true, false]),
      routed_scaling_factor: pick([1, 16]),
    });
  } else Object.assign(config, { scoring_func: 'sigmoid', topk_method: 'noaux_tc', norm_topk_prob: true, routed_scaling_factor: 2.5 });
  if (kind === 'deepseek_v32') Object.assign(config, { index_n_heads: pick([1, 4, 16]), index_head_dim: 128, index_topk: pick([4, 8, 16, 32]) });
  if (dtype === 'FP8') {
    config['quantization_config'] = { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128], scale_fmt: pick(['ue8m0', 'ue8m0', null]) };
  }
  return config;
}
