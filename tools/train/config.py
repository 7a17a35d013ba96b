"""The shape of tessera-tiny, written as the config.json Tessera loads (model_type deepseek_v32)."""

VOCAB_SIZE = 4096
CONTEXT = 512


def hf_config(vocab_size: int = VOCAB_SIZE) -> dict:
    return {
        'architectures': ['DeepseekV32ForCausalLM'],
        'model_type': 'deepseek_v32',
        'vocab_size': vocab_size,
        'hidden_size': 256,
        'num_hidden_layers': 4,
        'first_k_dense_replace': 1,  # layer 0 dense SwiGLU, layers 1-3 DeepSeekMoE
        'moe_layer_freq': 1,
        'intermediate_size': 768,
        'num_attention_heads': 4,
        'num_key_value_heads': 4,
        'q_lora_rank': 128,
        'kv_lora_rank': 128,
        'qk_nope_head_dim': 32,
        'qk_rope_head_dim': 32,
        'v_head_dim': 64,
        'moe_intermediate_size': 128,
        'n_routed_experts': 16,
        'n_shared_experts': 1,
        'num_experts_per_tok': 2,
        'n_group': 4,
        'topk_group': 2,
        'topk_method': 'noaux_tc',
        'scoring_func': 'sigmoid',
        'norm_topk_prob': True,
        'routed_scaling_factor': 1.0,
        'index_n_heads': 4,
        'index_head_dim': 128,  # one FP8 quantization block per indexer key
        'index_topk': 64,
        'max_position_embeddings': CONTEXT,
        'rope_theta': 10000.0,
        'rms_norm_eps': 1e-6,
        'tie_word_embeddings': False,
        'bos_token_id': 0,
        'eos_token_id': 1,
        'num_nextn_predict_layers': 0,
        'hidden_act': 'silu',
        'attention_bias': False,
        'initializer_range': 0.02,
        'torch_dtype': 'bfloat16',
        'use_cache': True,
    }
