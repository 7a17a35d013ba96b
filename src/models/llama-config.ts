// config.json of the Llama family — Llama 3.x, Qwen2/2.5 and Qwen3, the architectures of the
// DeepSeek-R1 distills — normalized once into a frozen, validated object.
import { ropeFrequencies, yarnMscale } from '../numerics/rope.js';
import type { YarnParams } from '../numerics/rope.js';
import type { GqaKvSpec, KvDType } from '../ops/kv-cache.js';
import type { ModelDescription } from './architecture.js';
import { ConfigReader } from './config-reader.js';

export const LLAMA_MODEL_TYPES = ['llama', 'qwen2', 'qwen3'] as const;
export type LlamaModelType = (typeof LLAMA_MODEL_TYPES)[number];

/** Llama 3.1's frequency-dependent RoPE scaling (rope_type "llama3"). */
export interface Llama3Scaling {
  readonly factor: number;
  readonly lowFreqFactor: number;
  readonly highFreqFactor: number;
  readonly originalMaxPositionEmbeddings: number;
}

export type RopeScaling =
  | { readonly type: 'llama3'; readonly llama3: Llama3Scaling }
  | { readonly type: 'yarn'; readonly yarn: YarnParams; readonly attentionFactor: number }
  | { readonly type: 'linear'; readonly factor: number }
  /** per-frequency divisors [headDim / 2], as GGUF files carry Llama 3's scaling (rope_freqs) */
  | { readonly type: 'divisors'; readonly divisors: Float32Array };

export interface LlamaConfig {
  readonly modelType: LlamaModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  readonly intermediateSize: number;
  /** bias on the q, k, v projections (Qwen2 always; Llama with attention_bias) */
  readonly qkvBias: boolean;
  /** bias on o_proj (Llama with attention_bias) */
  readonly oBias: boolean;
  /** bias on the MLP projections (Llama with mlp_bias) */
  readonly mlpBias: boolean;
  /** Qwen3: RMSNorm over each head of q and k, before RoPE */
  readonly qkNorm: boolean;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly ropeScaling: RopeScaling | null;
  /**
   * 'half' (HF: rotate_half over dims (i, i + D/2)); 'interleaved' (pairs (2i, 2i+1)) for Llama
   * GGUF files, whose converter permuted the q/k rows of each head so that llama.cpp's adjacent-pair
   * RoPE computes the same attention.
   */
  readonly ropeLayout: 'half' | 'interleaved';
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  /** tensor parallelism: the LM head's rows are split into this many blocks, one per rank (1: whole) */
  readonly lmHeadShards?: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

function parseRopeScaling(r: ConfigReader): RopeScaling | null {
  const s = r.object('rope_scaling');
  if (!s) return null;
  const type = s.raw['rope_type'] ?? s.raw['type'];
  switch (type) {
    case 'default':
      return null;
    case 'llama3':
      return {
        type: 'llama3',
        llama3: Object.freeze({
          factor: s.num('factor'),
          lowFreqFactor: s.num('low_freq_factor', 1),
          highFreqFactor: s.num('high_freq_factor', 4),
          originalMaxPositionEmbeddings: s.int('original_max_position_embeddings'),
        }),
      };
    case 'yarn': {
      const factor = s.num('factor');
      // llama.cpp and transformers scale cos/sin by attention_factor, 0.1 ln(factor) + 1 by default;
      // an `attn_factor` key (DeepSeek-R1-0528-Qwen3) is read by neither, so it is not applied here.
      const yarn: YarnParams = { factor, originalMaxPositionEmbeddings: s.int('original_max_position_embeddings'), betaFast: s.num('beta_fast', 32), betaSlow: s.num('beta_slow', 1), mscale: 1, mscaleAllDim: 0 };
      return { type: 'yarn', yarn: Object.freeze(yarn), attentionFactor: s.num('attention_factor', yarnMscale(factor, 1)) };
    }
    case 'linear':
      return { type: 'linear', factor: s.num('factor') };
    default:
      return s.fail('rope_type', `must be one of "llama3", "yarn", "linear" or "default", got ${JSON.stringify(type)}`);
  }
}

export function parseLlamaConfig(file: string, raw: Record<string, unknown>): LlamaConfig {
  const r = new ConfigReader(file, raw);
  const modelType = r.oneOf('model_type', LLAMA_MODEL_TYPES);
  const hiddenSize = r.int('hidden_size');
  const numHeads = r.int('num_attention_heads');
  const numKvHeads = r.int('num_key_value_heads', numHeads);
  if (numHeads % numKvHeads !== 0) r.fail('num_key_value_heads', `num_attention_heads (${numHeads}) must be a multiple of num_key_value_heads (${numKvHeads})`);
  const headDim = r.has('head_dim') ? r.int('head_dim') : hiddenSize / numHeads;
  if (!Number.isInteger(headDim)) r.fail('num_attention_heads', `hidden_size (${hiddenSize}) is not a multiple of num_attention_heads (${numHeads}); give head_dim`);
  if (headDim % 2 !== 0) r.fail('head_dim', `RoPE rotates pairs: the head dimension must be even, got ${headDim}`);
  if (r.raw['hidden_act'] !== undefined) r.oneOf('hidden_act', ['silu'] as const);
  if (r.bool('use_sliding_window', false)) r.fail('use_sliding_window', 'sliding-window attention is not supported; the DeepSeek-R1 distills run without it (use_sliding_window: false)');
  const attentionBias = r.bool('attention_bias', false);
  const config: LlamaConfig = {
    modelType,
    vocabSize: r.int('vocab_size'),
    hiddenSize,
    numLayers: r.int('num_hidden_layers'),
    numHeads,
    numKvHeads,
    headDim,
    intermediateSize: r.int('intermediate_size'),
    qkvBias: modelType === 'qwen2' || (modelType === 'llama' && attentionBias) || (modelType === 'qwen3' && attentionBias),
    oBias: modelType !== 'qwen2' && attentionBias,
    mlpBias: modelType === 'llama' && r.bool('mlp_bias', false),
    qkNorm: modelType === 'qwen3',
    rmsNormEps: r.num('rms_norm_eps', 1e-6),
    ropeTheta: r.num('rope_theta', 10000),
    ropeScaling: parseRopeScaling(r),
    ropeLayout: 'half',
    maxPositionEmbeddings: r.int('max_position_embeddings'),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    bosTokenId: r.optionalInt('bos_token_id', 0),
    eosTokenIds: Object.freeze(r.intList('eos_token_id')),
  };
  return Object.freeze(config);
}

/**
 * Rotary frequencies [headDim / 2] with the configured scaling: Llama 3's by wavelength band
 * (transformers' _compute_llama3_parameters, the divisors llama.cpp stores as rope_freqs), YaRN's
 * blend, or linear position interpolation.
 */
export function llamaRopeFrequencies(c: LlamaConfig): Float32Array {
  const s = c.ropeScaling;
  const freqs = ropeFrequencies({ theta: c.ropeTheta, dim: c.headDim, yarn: s?.type === 'yarn' ? s.yarn : null });
  if (s?.type === 'linear') return freqs.map((f) => f / s.factor);
  if (s?.type === 'divisors') return freqs.map((f, i) => f / s.divisors[i]!);
  if (s?.type !== 'llama3') return freqs;
  const { factor, lowFreqFactor, highFreqFactor, originalMaxPositionEmbeddings: old } = s.llama3;
  const lowWavelen = old / lowFreqFactor;
  const highWavelen = old / highFreqFactor;
  return freqs.map((f) => {
    const wavelen = (2 * Math.PI) / f;
    if (wavelen < highWavelen) return f;
    if (wavelen > lowWavelen) return f / factor;
    const smooth = (old / wavelen - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
    return (1 - smooth) * (f / factor) + smooth * f;
  });
}

/** cos/sin amplitude: YaRN's attention factor, 1 otherwise. */
export function llamaRopeAmplitude(c: LlamaConfig): number {
  return c.ropeScaling?.type === 'yarn' ? c.ropeScaling.attentionFactor : 1;
}

/** The K/V cache layout of a Llama-family model. */
export function llamaKvLayout(c: LlamaConfig, dtype: KvDType): Omit<GqaKvSpec, 'numBlocks' | 'blockSize'> {
  return { kind: 'gqa', layers: c.numLayers, kvHeads: c.numKvHeads, headDim: c.headDim, dtype };
}

function describeRope(c: LlamaConfig): string {
  const s = c.ropeScaling;
  const scaling =
    !s ? ''
    : s.type === 'llama3' ? `, llama3 scaling x${s.llama3.factor} (original context ${s.llama3.originalMaxPositionEmbeddings})`
    : s.type === 'yarn' ? `, YaRN factor ${s.yarn.factor} (original context ${s.yarn.originalMaxPositionEmbeddings})`
    : s.type === 'divisors' ? ', per-frequency scaling (rope_freqs)'
    : `, linear scaling x${s.factor}`;
  return `theta ${c.ropeTheta}${scaling}`;
}

/** `inspect`'s view of a Llama-family config, and what a decoded token reads of each tensor. */
export function describeLlama(c: LlamaConfig, kvDtype: KvDType): ModelDescription {
  const extras = [c.qkvBias ? 'q/k/v bias' : '', c.oBias ? 'o bias' : '', c.qkNorm ? 'q/k RMSNorm per head' : ''].filter(Boolean);
  return {
    lines: [
      ['architecture', `${c.modelType}: ${c.numLayers} layers, hidden ${c.hiddenSize}, MLP ${c.intermediateSize}, vocab ${c.vocabSize}, context ${c.maxPositionEmbeddings}${c.tieWordEmbeddings ? ', tied embeddings' : ''}`],
      ['attention', `GQA: ${c.numHeads} query heads, ${c.numKvHeads} KV heads x ${c.headDim}${extras.length ? `, ${extras.join(', ')}` : ''}; RoPE ${describeRope(c)}`],
    ],
    kvLayout: llamaKvLayout(c, kvDtype),
    usePerToken: (name) => (name === 'model.embed_tokens.weight' && !c.tieWordEmbeddings ? 'row' : 1),
    notes: [],
  };
}
