// Llama / Qwen2 / Qwen3 GGUF files (llama.cpp's `llama`, `qwen2`, `qwen3` architectures): the
// config from the file's metadata and the GGUF name of every tensor the architecture binds.
import { decodeToF32 } from '../formats/dtype.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { yarnMscale } from '../numerics/rope.js';
import type { GgufArchitecture } from './architecture.js';
import type { GgufMetaReader } from './gguf-meta-reader.js';
import type { LlamaConfig, LlamaModelType, RopeScaling } from './llama-config.js';

const LAYER_TENSORS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^input_layernorm\.weight$/, 'attn_norm.weight'],
  [/^post_attention_layernorm\.weight$/, 'ffn_norm.weight'],
  [/^self_attn\.([qkv])_proj\.(weight|bias)$/, 'attn_$1.$2'],
  [/^self_attn\.o_proj\.(weight|bias)$/, 'attn_output.$1'],
  [/^self_attn\.([qk])_norm\.weight$/, 'attn_$1_norm.weight'],
  [/^mlp\.(gate|up|down)_proj\.(weight|bias)$/, 'ffn_$1.$2'],
];

const GLOBAL_TENSORS: Readonly<Record<string, string>> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** The GGUF name of a tensor the architecture binds by its Hugging Face name. */
export function llamaGgufName(hf: string): string | null {
  const global = GLOBAL_TENSORS[hf];
  if (global) return global;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return null;
  for (const [re, to] of LAYER_TENSORS) if (re.test(m[2]!)) return `blk.${m[1]}.${m[2]!.replace(re, to)}`;
  return null;
}

function ropeScaling(m: GgufMetaReader, tensors: TensorStore, headDim: number): RopeScaling | null {
  // Llama 3's scaling travels as per-frequency divisors, not as keys
  if (tensors.has('rope_freqs.weight')) {
    const t = tensors.info('rope_freqs.weight');
    if (t.dtype !== 'F32' || t.shape.length !== 1 || t.shape[0] !== headDim / 2) m.fail('rope.dimension_count', `rope_freqs.weight must be ${headDim / 2} F32 values, found ${t.dtype} [${t.shape.join(', ')}]`);
    return { type: 'divisors', divisors: decodeToF32(tensors.read('rope_freqs.weight'), 'F32') };
  }
  const type = m.str('rope.scaling.type', 'none');
  if (type === 'none') return null;
  const factor = m.num('rope.scaling.factor');
  if (type === 'linear') return factor > 0 && factor !== 1 ? { type: 'linear', factor } : null;
  if (type === 'yarn') {
    const yarn = { factor, originalMaxPositionEmbeddings: m.int('rope.scaling.original_context_length'), betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 0 };
    // llama.cpp's llama/qwen graphs scale cos/sin by 0.1 ln(factor) + 1 (its yarn_attn_factor) and read no yarn_* keys
    return { type: 'yarn', yarn, attentionFactor: yarnMscale(factor, 1) };
  }
  return m.fail('rope.scaling.type', `must be "none", "linear" or "yarn", got ${JSON.stringify(type)}`);
}

export const LLAMA_GGUF: GgufArchitecture<LlamaConfig> = {
  architectures: ['llama', 'qwen2', 'qwen3'],
  config(m, tensors): LlamaConfig {
    const modelType = m.arch as LlamaModelType;
    const hiddenSize = m.int('embedding_length');
    const numHeads = m.int('attention.head_count');
    const numKvHeads = m.int('attention.head_count_kv', numHeads);
    if (numHeads % numKvHeads !== 0) m.fail('attention.head_count_kv', `attention.head_count (${numHeads}) must be a multiple of it (${numKvHeads})`);
    const headDim = m.int('attention.key_length', hiddenSize / numHeads);
    if (m.int('attention.value_length', headDim) !== headDim) m.fail('attention.value_length', `must equal attention.key_length (${headDim})`);
    if (modelType === 'llama' && m.int('rope.dimension_count', headDim) !== headDim) m.fail('rope.dimension_count', `partial rotary embeddings are not supported (head dimension ${headDim})`);
    if (!tensors.has('token_embd.weight')) throw new Error(`${m.file}: no token_embd.weight tensor`);
    const vocabSize = m.optionalInt('vocab_size') ?? m.arrayLength('tokenizer.ggml.tokens') ?? tensors.info('token_embd.weight').shape[0]!;
    const eos = m.optionalInt('tokenizer.ggml.eos_token_id');
    return Object.freeze({
      modelType,
      vocabSize,
      hiddenSize,
      numLayers: m.int('block_count'),
      numHeads,
      numKvHeads,
      headDim,
      intermediateSize: m.int('feed_forward_length'),
      qkvBias: tensors.has('blk.0.attn_q.bias'),
      oBias: tensors.has('blk.0.attn_output.bias'),
      mlpBias: tensors.has('blk.0.ffn_gate.bias'),
      qkNorm: tensors.has('blk.0.attn_q_norm.weight'),
      rmsNormEps: m.num('attention.layer_norm_rms_epsilon'),
      ropeTheta: m.num('rope.freq_base', 10000),
      ropeScaling: ropeScaling(m, tensors, headDim),
      // the converter permuted Llama's q/k rows per head for adjacent-pair RoPE; Qwen keeps HF's
      ropeLayout: modelType === 'llama' ? 'interleaved' : 'half',
      maxPositionEmbeddings: m.int('context_length'),
      tieWordEmbeddings: !tensors.has('output.weight'),
      bosTokenId: m.optionalInt('tokenizer.ggml.bos_token_id'),
      eosTokenIds: Object.freeze(eos === null ? [] : [eos]),
    });
  },
  tensorName: (hf) => llamaGgufName(hf),
};
