// Seeded random Llama / Qwen2 / Qwen3 configs (the R1 distills' architectures) that cross the
// boundaries where kernels change regime: query groups of 1..8 heads per KV head, head widths
// off the power of two, explicit Qwen3 head_dim, q/k/v biases, per-head q/k norms, tied
// embeddings, Llama 3 / YaRN / linear RoPE scaling, and the 16-bit K/V cache layouts.
import { picker } from './random.js';

export function randomLlamaConfig(seed: number): Record<string, unknown> {
  const { pick, int } = picker(seed);
  const type = pick(['llama', 'qwen2', 'qwen3'] as const);
  const kvHeads = pick([1, 2, 4]);
  const group = pick([1, 2, 3, 4, 8]);
  const heads = kvHeads * group;
  const headDim = pick([16, 32, 48, 64].filter((d) => heads * d <= 512));
  const config: Record<string, unknown> = {
    model_type: type,
    vocab_size: int(96, 300),
    hidden_size: type === 'qwen3' ? pick([64, 96, 160]) : heads * headDim,
    num_hidden_layers: int(1, 3),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads,
    intermediate_size: pick([64, 96, 200]),
    rms_norm_eps: pick([1e-5, 1e-6]),
    rope_theta: pick([10000, 500000, 1000000]),
    max_position_embeddings: 4096,
    tie_word_embeddings: pick([false, false, true]),
    bos_token_id: 0,
    eos_token_id: 1,
    hidden_act: 'silu',
  };
  if (type === 'qwen3') config['head_dim'] = headDim;
  if (type === 'llama') {
    config['attention_bias'] = pick([false, false, true]);
    const scaling = pick(['none', 'llama3', 'llama3', 'linear'] as const);
    if (scaling === 'llama3') config['rope_scaling'] = { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: pick([32, 8192]) };
    if (scaling === 'linear') config['rope_scaling'] = { rope_type: 'linear', factor: 2 };
  } else if (pick([false, true])) {
    config['rope_scaling'] = { rope_type: 'yarn', factor: 4, original_max_position_embeddings: 32 };
  }
  return config;
}
