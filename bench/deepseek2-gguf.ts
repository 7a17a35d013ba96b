// The benchmark model as a GGUF file of llama.cpp's `deepseek2` architecture, laid out as
// llama.cpp's convert_hf_to_gguf.py (class DeepseekV2Model, conversion/deepseek.py of the
// llama.cpp release bundled with node-llama-cpp 3.21.1) writes a DeepSeek-V3 BF16 checkpoint:
//
// * metadata keys and value types as gguf-py writes them (u32 counts, f32 floats, string rope
//   type); MLA is stored as MQA: head_count_kv = 1, key_length = kv_lora_rank + rope dim,
//   value_length = kv_lora_rank, plus key_length_mla / value_length_mla for the real head sizes;
//   yarn_log_multiplier = 0.1 * mscale_all_dim (llama.cpp divides it by 0.1 again on load);
// * kv_b_proj [H*(nope+v), kv_lora] is split per head into attn_k_b (the nope rows, transposed:
//   row-major [H, kv_lora, nope]) and attn_v_b (the v rows: [H, v, kv_lora]);
// * routed experts are stacked: ffn_{gate,up}_exps [E, moe_ff, hidden], ffn_down_exps [E, hidden, moe_ff];
// * 1-D tensors (norms, exp_probs_b.bias) and the router ffn_gate_inp are F32, everything else
//   BF16 with the checkpoint's bytes unchanged (BF16 -> F32 widening is exact).
//
// GGUF shapes below are row-major (reversed ggml `ne`), like the safetensors shapes.
import { gv } from '../src/formats/gguf-types.js';
import type { GgufValue } from '../src/formats/gguf-types.js';
import type { GgufTensorData, GgufTensorSpec } from '../src/formats/gguf-writer.js';
import type { BenchModelConfig, HfTensor } from './model-config.js';

const ARCH = 'deepseek2';

export function deepseek2Metadata(c: BenchModelConfig, name: string): Array<[string, GgufValue]> {
  const k = (s: string): string => `${ARCH}.${s}`;
  return [
    ['general.architecture', gv.str(ARCH)],
    ['general.type', gv.str('model')],
    ['general.name', gv.str(name)],
    [k('block_count'), gv.u32(c.num_hidden_layers)],
    [k('context_length'), gv.u32(c.max_position_embeddings)],
    [k('embedding_length'), gv.u32(c.hidden_size)],
    [k('feed_forward_length'), gv.u32(c.intermediate_size)],
    [k('attention.head_count'), gv.u32(c.num_attention_heads)],
    [k('attention.head_count_kv'), gv.u32(1)],
    [k('rope.scaling.type'), gv.str('yarn')],
    [k('rope.scaling.factor'), gv.f32(c.rope_scaling.factor)],
    [k('rope.scaling.original_context_length'), gv.u32(c.rope_scaling.original_max_position_embeddings)],
    [k('rope.scaling.yarn_beta_fast'), gv.f32(c.rope_scaling.beta_fast)],
    [k('rope.scaling.yarn_beta_slow'), gv.f32(c.rope_scaling.beta_slow)],
    [k('rope.freq_base'), gv.f32(c.rope_theta)],
    [k('attention.layer_norm_rms_epsilon'), gv.f32(c.rms_norm_eps)],
    [k('expert_count'), gv.u32(c.n_routed_experts)],
    [k('expert_used_count'), gv.u32(c.num_experts_per_tok)],
    [k('expert_group_count'), gv.u32(c.n_group)],
    [k('expert_group_used_count'), gv.u32(c.topk_group)],
    [k('expert_gating_func'), gv.u32(2)], // LLAMA_EXPERT_GATING_FUNC_TYPE_SIGMOID
    ['general.file_type', gv.u32(32)], // LLAMA_FTYPE_MOSTLY_BF16
    [k('leading_dense_block_count'), gv.u32(c.first_k_dense_replace)],
    [k('vocab_size'), gv.u32(c.vocab_size)],
    [k('attention.q_lora_rank'), gv.u32(c.q_lora_rank)],
    [k('attention.kv_lora_rank'), gv.u32(c.kv_lora_rank)],
    [k('attention.key_length'), gv.u32(c.kv_lora_rank + c.qk_rope_head_dim)],
    [k('attention.value_length'), gv.u32(c.kv_lora_rank)],
    [k('attention.key_length_mla'), gv.u32(c.qk_nope_head_dim + c.qk_rope_head_dim)],
    [k('attention.value_length_mla'), gv.u32(c.v_head_dim)],
    [k('expert_feed_forward_length'), gv.u32(c.moe_intermediate_size)],
    [k('expert_shared_count'), gv.u32(c.n_shared_experts)],
    [k('expert_weights_scale'), gv.f32(c.routed_scaling_factor)],
    [k('expert_weights_norm'), gv.bool(true)],
    [k('rope.dimension_count'), gv.u32(c.qk_rope_head_dim)],
    [k('rope.scaling.yarn_log_multiplier'), gv.f32(0.1 * c.rope_scaling.mscale_all_dim)],
    ...tokenizerMetadata(c.vocab_size),
  ];
}

/** GPT-2 byte-to-unicode map: printable stand-ins for the 256 byte values. */
function byteChars(): string[] {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const chars = new Array<string>(256);
  let extra = 0;
  for (let b = 0; b < 256; b++) chars[b] = String.fromCodePoint(keep.includes(b) ? b : 256 + extra++);
  return chars;
}

/**
 * A minimal but valid byte-level BPE vocabulary of `vocabSize` tokens: ids 0/1 are DeepSeek's BOS/EOS
 * control tokens, 2..257 the 256 bytes, the rest two-byte merges. The benchmark feeds token ids,
 * so the vocabulary only has to load (llama.cpp requires tokens, types and merges for "gpt2").
 */
function tokenizerMetadata(vocabSize: number): Array<[string, GgufValue]> {
  const bytes = byteChars();
  const tokens = ['<｜begin▁of▁sentence｜>', '<｜end▁of▁sentence｜>', ...bytes];
  const types = [3, 3, ...bytes.map(() => 1)]; // 3 = CONTROL, 1 = NORMAL
  const merges: string[] = [];
  for (let a = 0; a < 256 && tokens.length < vocabSize; a++) {
    for (let b = 0; b < 256 && tokens.length < vocabSize; b++) {
      tokens.push(bytes[a]! + bytes[b]!);
      types.push(1);
      merges.push(`${bytes[a]} ${bytes[b]}`);
    }
  }
  if (tokens.length !== vocabSize) throw new Error(`vocabulary of ${vocabSize} tokens cannot be built from byte pairs`);
  return [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('deepseek-v3')],
    ['tokenizer.ggml.tokens', gv.strings(tokens)],
    ['tokenizer.ggml.token_type', gv.numbers('i32', types)],
    ['tokenizer.ggml.merges', gv.strings(merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(0)],
    ['tokenizer.ggml.eos_token_id', gv.u32(1)],
    ['tokenizer.ggml.add_bos_token', gv.bool(true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
  ];
}

/** A GGUF tensor and how to build its bytes from checkpoint tensors. */
export interface Deepseek2Tensor extends GgufTensorSpec {
  /** Checkpoint tensors it is made from. */
  readonly sources: readonly string[];
  readonly build: (get: (hfName: string) => Uint8Array) => GgufTensorData;
  /** Fraction of the tensor read per decoded token (1, experts used / experts, or one row). */
  readonly activeFraction: number;
}

function bf16ToF32Bytes(b: Uint8Array): Uint8Array {
  const src = new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2);
  const out = new Uint32Array(src.length);
  for (let i = 0; i < src.length; i++) out[i] = src[i]! << 16;
  return new Uint8Array(out.buffer);
}

export function deepseek2Tensors(c: BenchModelConfig, hf: ReadonlyMap<string, HfTensor>): Deepseek2Tensor[] {
  const out: Deepseek2Tensor[] = [];
  const h = c.hidden_size;
  const H = c.num_attention_heads;
  const nope = c.qk_nope_head_dim;
  const v = c.v_head_dim;
  const r = c.kv_lora_rank;
  const hfShape = (n: string): readonly number[] => {
    const t = hf.get(n);
    if (!t) throw new Error(`checkpoint has no tensor ${n}`);
    return t.shape;
  };
  /** Same bytes, BF16 (or F32 when the checkpoint tensor is F32). */
  const same = (name: string, src: string, activeFraction = 1): void => {
    const type = hf.get(src)?.dtype === 'F32' ? 'F32' : 'BF16';
    out.push({ name, type, shape: hfShape(src), sources: [src], build: (get) => get(src), activeFraction });
  };
  /** BF16 checkpoint values widened to F32 (norms, router). */
  const f32 = (name: string, src: string): void => {
    out.push({ name, type: 'F32', shape: hfShape(src), sources: [src], build: (get) => bf16ToF32Bytes(get(src)), activeFraction: 1 });
  };

  same('token_embd.weight', 'model.embed_tokens.weight', 1 / c.vocab_size);
  for (let l = 0; l < c.num_hidden_layers; l++) {
    const p = `model.layers.${l}`;
    const b = `blk.${l}`;
    f32(`${b}.attn_norm.weight`, `${p}.input_layernorm.weight`);
    f32(`${b}.attn_q_a_norm.weight`, `${p}.self_attn.q_a_layernorm.weight`);
    f32(`${b}.attn_kv_a_norm.weight`, `${p}.self_attn.kv_a_layernorm.weight`);
    same(`${b}.attn_q_a.weight`, `${p}.self_attn.q_a_proj.weight`);
    same(`${b}.attn_q_b.weight`, `${p}.self_attn.q_b_proj.weight`);
    same(`${b}.attn_kv_a_mqa.weight`, `${p}.self_attn.kv_a_proj_with_mqa.weight`);
    const kvb = `${p}.self_attn.kv_b_proj.weight`;
    out.push({
      name: `${b}.attn_k_b.weight`, type: 'BF16', shape: [H, r, nope], sources: [kvb], activeFraction: 1,
      build: (get) => splitKvB(get(kvb), H, nope, v, r, 'k'),
    });
    out.push({
      name: `${b}.attn_v_b.weight`, type: 'BF16', shape: [H, v, r], sources: [kvb], activeFraction: 1,
      build: (get) => splitKvB(get(kvb), H, nope, v, r, 'v'),
    });
    same(`${b}.attn_output.weight`, `${p}.self_attn.o_proj.weight`);
    f32(`${b}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`);
    if (l < c.first_k_dense_replace) {
      same(`${b}.ffn_gate.weight`, `${p}.mlp.gate_proj.weight`);
      same(`${b}.ffn_up.weight`, `${p}.mlp.up_proj.weight`);
      same(`${b}.ffn_down.weight`, `${p}.mlp.down_proj.weight`);
      continue;
    }
    f32(`${b}.ffn_gate_inp.weight`, `${p}.mlp.gate.weight`);
    same(`${b}.exp_probs_b.bias`, `${p}.mlp.gate.e_score_correction_bias`);
    const E = c.n_routed_experts;
    const m = c.moe_intermediate_size;
    for (const [proj, gguf, shape] of [
      ['gate_proj', 'ffn_gate_exps', [E, m, h]],
      ['up_proj', 'ffn_up_exps', [E, m, h]],
      ['down_proj', 'ffn_down_exps', [E, h, m]],
    ] as const) {
      const sources = Array.from({ length: E }, (_, e) => `${p}.mlp.experts.${e}.${proj}.weight`);
      out.push({
        name: `${b}.${gguf}.weight`, type: 'BF16', shape, sources, activeFraction: c.num_experts_per_tok / E,
        build: (get) => sources.map((s) => get(s)), // streamed one expert at a time
      });
    }
    same(`${b}.ffn_gate_shexp.weight`, `${p}.mlp.shared_experts.gate_proj.weight`);
    same(`${b}.ffn_up_shexp.weight`, `${p}.mlp.shared_experts.up_proj.weight`);
    same(`${b}.ffn_down_shexp.weight`, `${p}.mlp.shared_experts.down_proj.weight`);
  }
  f32('output_norm.weight', 'model.norm.weight');
  same('output.weight', 'lm_head.weight');
  return out;
}

/**
 * kv_b_proj (BF16, row-major [H*(nope+v), r]) viewed as [H, nope+v, r]:
 * 'k' -> rows [0, nope) of each head, transposed to [H, r, nope]; 'v' -> rows [nope, nope+v): [H, v, r].
 */
export function splitKvB(bytes: Uint8Array, H: number, nope: number, v: number, r: number, part: 'k' | 'v'): Uint8Array {
  const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
  const rows = nope + v;
  if (src.length !== H * rows * r) throw new Error(`kv_b_proj has ${src.length} elements, expected ${H * rows * r}`);
  if (part === 'v') {
    const out = new Uint16Array(H * v * r);
    for (let hd = 0; hd < H; hd++) out.set(src.subarray((hd * rows + nope) * r, (hd * rows + rows) * r), hd * v * r);
    return new Uint8Array(out.buffer);
  }
  const out = new Uint16Array(H * r * nope);
  for (let hd = 0; hd < H; hd++) {
    for (let i = 0; i < nope; i++) {
      const row = (hd * rows + i) * r;
      for (let j = 0; j < r; j++) out[hd * r * nope + j * nope + i] = src[row + j]!;
    }
  }
  return new Uint8Array(out.buffer);
}
