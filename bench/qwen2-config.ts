// The second benchmark model: a dense Qwen2 with exactly the shape of DeepSeek-R1-Distill-Qwen-1.5B
// (1.78 B parameters, 3.55 GB in BF16), so that the comparison covers the GQA path of the
// R1 distills at a size where every decoded token streams ~3.1 GB of weights from memory.
import type { HfTensor, Init } from './model-config.js';

/** The fields of Qwen2's config.json that shape the model. */
export interface Qwen2BenchConfig {
  readonly vocab_size: number;
  readonly hidden_size: number;
  readonly intermediate_size: number;
  readonly num_hidden_layers: number;
  readonly num_attention_heads: number;
  readonly num_key_value_heads: number;
  readonly rms_norm_eps: number;
  readonly rope_theta: number;
  readonly max_position_embeddings: number;
  readonly tie_word_embeddings: boolean;
  readonly bos_token_id: number;
  readonly eos_token_id: number;
}

/** DeepSeek-R1-Distill-Qwen-1.5B's config.json values (head_dim 1536 / 12 = 128). */
export const QWEN2_BENCH_MODEL: Qwen2BenchConfig = Object.freeze({
  vocab_size: 151936,
  hidden_size: 1536,
  intermediate_size: 8960,
  num_hidden_layers: 28,
  num_attention_heads: 12,
  num_key_value_heads: 2,
  rms_norm_eps: 1e-6,
  rope_theta: 10000,
  max_position_embeddings: 131072,
  tie_word_embeddings: false,
  bos_token_id: 151643,
  eos_token_id: 151643,
});

/** Seed of the random weights; part of the model's identity (see manifest.json). */
export const QWEN2_BENCH_SEED = 20250120;

/** config.json as DeepSeek-R1-Distill-Qwen-1.5B ships it, with `c`'s sizes. */
export function qwen2ConfigJson(c: Qwen2BenchConfig): Record<string, unknown> {
  return {
    architectures: ['Qwen2ForCausalLM'],
    attention_dropout: 0.0,
    bos_token_id: c.bos_token_id,
    eos_token_id: c.eos_token_id,
    hidden_act: 'silu',
    hidden_size: c.hidden_size,
    initializer_range: 0.02,
    intermediate_size: c.intermediate_size,
    max_position_embeddings: c.max_position_embeddings,
    max_window_layers: 21,
    model_type: 'qwen2',
    num_attention_heads: c.num_attention_heads,
    num_hidden_layers: c.num_hidden_layers,
    num_key_value_heads: c.num_key_value_heads,
    rms_norm_eps: c.rms_norm_eps,
    rope_theta: c.rope_theta,
    sliding_window: 4096,
    tie_word_embeddings: c.tie_word_embeddings,
    torch_dtype: 'bfloat16',
    transformers_version: '4.44.0',
    use_cache: true,
    use_mrope: false,
    use_sliding_window: false,
    vocab_size: c.vocab_size,
  };
}

/**
 * Every tensor of the checkpoint, named as in Qwen2's model.safetensors, all BF16 (biases too, as
 * the distill ships them). Written out here rather than taken from Tessera's weight binding, so
 * the benchmark's checkpoint does not change when the engine under test does.
 */
export function qwen2Tensors(c: Qwen2BenchConfig): HfTensor[] {
  const out: HfTensor[] = [];
  const add = (name: string, shape: number[], init: Init = 'weight', active?: number): void => {
    out.push({ name, dtype: 'BF16', shape, init, activeParams: active ?? shape.reduce((a, b) => a * b, 1) });
  };
  const h = c.hidden_size;
  const d = h / c.num_attention_heads;
  const kv = c.num_key_value_heads * d;
  // a token reads one row, unless the table is also the output projection
  add('model.embed_tokens.weight', [c.vocab_size, h], 'weight', c.tie_word_embeddings ? undefined : h);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    add(`${p}.input_layernorm.weight`, [h], 'norm');
    add(`${p}.self_attn.q_proj.weight`, [h, h]);
    add(`${p}.self_attn.q_proj.bias`, [h], 'bias');
    add(`${p}.self_attn.k_proj.weight`, [kv, h]);
    add(`${p}.self_attn.k_proj.bias`, [kv], 'bias');
    add(`${p}.self_attn.v_proj.weight`, [kv, h]);
    add(`${p}.self_attn.v_proj.bias`, [kv], 'bias');
    add(`${p}.self_attn.o_proj.weight`, [h, h]);
    add(`${p}.post_attention_layernorm.weight`, [h], 'norm');
    add(`${p}.mlp.gate_proj.weight`, [c.intermediate_size, h]);
    add(`${p}.mlp.up_proj.weight`, [c.intermediate_size, h]);
    add(`${p}.mlp.down_proj.weight`, [h, c.intermediate_size]);
  }
  add('model.norm.weight', [h], 'norm');
  if (!c.tie_word_embeddings) add('lm_head.weight', [c.vocab_size, h]);
  return out;
}
