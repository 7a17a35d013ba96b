// config.json of DeepSeek-V2 / V3 / V3.2 normalized once into a frozen, validated object.
import { attentionScale } from '../numerics/rope.js';
import type { YarnParams } from '../numerics/rope.js';
import type { MlaKvSpec } from '../ops/kv-cache.js';
import type { ModelDescription } from './architecture.js';
import { ConfigReader } from './config-reader.js';

export const DEEPSEEK_MODEL_TYPES = ['deepseek_v2', 'deepseek_v3', 'deepseek_v32'] as const;
export type DeepseekModelType = (typeof DEEPSEEK_MODEL_TYPES)[number];

export interface IndexerConfig {
  readonly nHeads: number;
  readonly headDim: number;
  readonly topk: number;
}

export interface Fp8Config {
  /** [rows, cols] of a weight scale block, [128, 128] for DeepSeek. */
  readonly blockSize: readonly [number, number];
  readonly scaleFormat: 'ue8m0' | 'plain';
}

export interface DeepseekConfig {
  readonly modelType: DeepseekModelType;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  /** null: queries come from a plain q_proj (DeepSeek-V2-Lite). */
  readonly qLoraRank: number | null;
  readonly kvLoraRank: number;
  readonly qkNopeHeadDim: number;
  readonly qkRopeHeadDim: number;
  readonly vHeadDim: number;
  readonly intermediateSize: number;
  readonly moeIntermediateSize: number;
  readonly nRoutedExperts: number;
  readonly nSharedExperts: number;
  readonly numExpertsPerTok: number;
  readonly nGroup: number;
  readonly topkGroup: number;
  readonly topkMethod: 'greedy' | 'group_limited_greedy' | 'noaux_tc';
  readonly scoringFunc: 'softmax' | 'sigmoid';
  readonly normTopkProb: boolean;
  readonly routedScalingFactor: number;
  readonly firstKDenseReplace: number;
  readonly moeLayerFreq: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly yarn: YarnParams | null;
  readonly maxPositionEmbeddings: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
  /** Multi-token-prediction layers stored after the main layers (loaded and ignored for now). */
  readonly numNextnPredictLayers: number;
  /** The DSA lightning indexer (DeepSeek-V3.2); null for V2/V3. */
  readonly indexer: IndexerConfig | null;
  /** Block-scaled FP8 weights (quantization_config); null for BF16/F16/F32 checkpoints. */
  readonly fp8: Fp8Config | null;
  /**
   * Tensor parallelism (one rank's config, from deepseek-parallel.ts; heads and MLP widths are
   * already divided): the routed experts this rank holds, [first, first + count) of
   * nRoutedExperts (expert parallelism); absent: all of them.
   */
  readonly localExperts?: { readonly first: number; readonly count: number };
  /** tensor parallelism: the shared experts' width on this rank (absent: nSharedExperts × moeIntermediateSize) */
  readonly sharedExpertsWidth?: number;
  /** tensor parallelism: the LM head's rows are split into this many blocks, one per rank (absent: whole) */
  readonly lmHeadShards?: number;
}

export function isMoeLayer(c: DeepseekConfig, layer: number): boolean {
  return c.nRoutedExperts > 0 && layer >= c.firstKDenseReplace && layer % c.moeLayerFreq === 0;
}

export function parseDeepseekConfig(file: string, raw: Record<string, unknown>): DeepseekConfig {
  const r = new ConfigReader(file, raw);
  const modelType = r.oneOf('model_type', DEEPSEEK_MODEL_TYPES);
  const numHeads = r.int('num_attention_heads');
  const kvHeads = r.optionalInt('num_key_value_heads');
  if (kvHeads !== null && kvHeads !== numHeads) r.fail('num_key_value_heads', `MLA needs num_key_value_heads == num_attention_heads (${numHeads}), got ${kvHeads}`);

  const nRoutedExperts = r.optionalInt('n_routed_experts', 0) ?? 0;
  const scoringFunc = r.oneOf('scoring_func', ['softmax', 'sigmoid'] as const, modelType === 'deepseek_v2' ? 'softmax' : 'sigmoid');
  const topkMethod = r.oneOf('topk_method', ['greedy', 'group_limited_greedy', 'noaux_tc'] as const, modelType === 'deepseek_v2' ? 'greedy' : 'noaux_tc');
  const nGroup = r.int('n_group', 1);
  const topkGroup = r.int('topk_group', 1);
  if (nRoutedExperts > 0 && nRoutedExperts % nGroup !== 0) r.fail('n_group', `n_routed_experts (${nRoutedExperts}) must be divisible by n_group (${nGroup})`);
  if (topkGroup > nGroup) r.fail('topk_group', `must be <= n_group (${nGroup})`);
  const numExpertsPerTok = nRoutedExperts > 0 ? r.int('num_experts_per_tok') : 0;
  if (numExpertsPerTok > nRoutedExperts) r.fail('num_experts_per_tok', `must be <= n_routed_experts (${nRoutedExperts})`);
  if (nRoutedExperts > 0 && topkMethod !== 'greedy' && nGroup > 1) {
    const perGroup = nRoutedExperts / nGroup;
    // Beyond what the kept groups hold, the choice falls among masked experts: implementations break those ties differently.
    if (numExpertsPerTok > topkGroup * perGroup) {
      r.fail('num_experts_per_tok', `${numExpertsPerTok} experts per token exceed what topk_group (${topkGroup}) groups of n_routed_experts / n_group (${nRoutedExperts} / ${nGroup} = ${perGroup}) experts hold (${topkGroup * perGroup})`);
    }
    if (topkMethod === 'noaux_tc' && perGroup < 2) {
      r.fail('n_group', `topk_method "noaux_tc" ranks each group by its two best experts, so n_routed_experts / n_group (${nRoutedExperts} / ${nGroup}) must be at least 2`);
    }
  }

  const ropeRaw = r.object('rope_scaling');
  let yarn: YarnParams | null = null;
  if (ropeRaw) {
    const type = ropeRaw.raw['type'] ?? ropeRaw.raw['rope_type'];
    if (type !== 'yarn') ropeRaw.fail('type', `only "yarn" rope scaling is supported by DeepSeek models, got ${JSON.stringify(type)}`);
    yarn = Object.freeze({
      factor: ropeRaw.num('factor'),
      originalMaxPositionEmbeddings: ropeRaw.int('original_max_position_embeddings'),
      betaFast: ropeRaw.num('beta_fast', 32),
      betaSlow: ropeRaw.num('beta_slow', 1),
      mscale: ropeRaw.num('mscale', 1),
      mscaleAllDim: ropeRaw.num('mscale_all_dim', 0),
    });
  }

  let indexer: IndexerConfig | null = null;
  if (modelType === 'deepseek_v32') {
    indexer = Object.freeze({ nHeads: r.int('index_n_heads'), headDim: r.int('index_head_dim'), topk: r.int('index_topk') });
    if (indexer.headDim !== 128) r.fail('index_head_dim', `the indexer quantizes one 128-wide block per key; index_head_dim must be 128, got ${indexer.headDim}`);
    if (r.optionalInt('q_lora_rank') === null) r.fail('q_lora_rank', 'DeepSeek-V3.2 needs q_lora_rank (the indexer reads the compressed query)');
  }

  const quant = r.object('quantization_config');
  let fp8: Fp8Config | null = null;
  if (quant) {
    // Validated for their errors only: fp8 e4m3 is the one scheme DeepSeek ships.
    quant.oneOf('quant_method', ['fp8'] as const);
    quant.oneOf('fmt', ['e4m3'] as const, 'e4m3');
    const block: unknown = quant.raw['weight_block_size'];
    if (!Array.isArray(block) || block.length !== 2 || !block.every((b) => Number.isSafeInteger(b) && b > 0)) {
      quant.fail('weight_block_size', 'must be [rows, cols] positive integers');
    }
    const [rows, cols] = block as [number, number];
    const scaleFmt = quant.raw['scale_fmt'];
    fp8 = Object.freeze({
      blockSize: Object.freeze([rows, cols]) as readonly [number, number],
      scaleFormat: scaleFmt === 'ue8m0' ? 'ue8m0' : 'plain',
    });
  }

  const ropeDim = r.int('qk_rope_head_dim');
  if (ropeDim % 2 !== 0) r.fail('qk_rope_head_dim', 'must be even');
  const config: DeepseekConfig = {
    modelType,
    vocabSize: r.int('vocab_size'),
    hiddenSize: r.int('hidden_size'),
    numLayers: r.int('num_hidden_layers'),
    numHeads,
    qLoraRank: r.optionalInt('q_lora_rank'),
    kvLoraRank: r.int('kv_lora_rank'),
    qkNopeHeadDim: r.int('qk_nope_head_dim'),
    qkRopeHeadDim: ropeDim,
    vHeadDim: r.int('v_head_dim'),
    intermediateSize: r.int('intermediate_size'),
    moeIntermediateSize: nRoutedExperts > 0 ? r.int('moe_intermediate_size') : 0,
    nRoutedExperts,
    nSharedExperts: r.optionalInt('n_shared_experts', 0) ?? 0,
    numExpertsPerTok,
    nGroup,
    topkGroup,
    topkMethod,
    scoringFunc,
    normTopkProb: r.bool('norm_topk_prob', modelType !== 'deepseek_v2'),
    routedScalingFactor: r.num('routed_scaling_factor', 1),
    firstKDenseReplace: r.int('first_k_dense_replace', 0, 0),
    moeLayerFreq: r.int('moe_layer_freq', 1),
    rmsNormEps: r.num('rms_norm_eps', 1e-6),
    ropeTheta: r.num('rope_theta', 10000),
    yarn,
    maxPositionEmbeddings: r.int('max_position_embeddings'),
    tieWordEmbeddings: r.bool('tie_word_embeddings', false),
    bosTokenId: r.optionalInt('bos_token_id', 0),
    eosTokenIds: Object.freeze(r.intList('eos_token_id')),
    numNextnPredictLayers: r.int('num_nextn_predict_layers', 0, 0),
    indexer,
    fp8,
  };
  return Object.freeze(config);
}

/** The cache layout of a DeepSeek model: one latent + rotary key per token (+ the V3.2 indexer key). */
export function deepseekKvLayout(c: DeepseekConfig): Omit<MlaKvSpec, 'numBlocks' | 'blockSize'> {
  return { kind: 'mla', layers: c.numLayers, latentDim: c.kvLoraRank, ropeDim: c.qkRopeHeadDim, indexDim: c.indexer?.headDim ?? 0, latentFormat: c.indexer ? 'fp8' : 'f32' };
}

/** `inspect`'s view of a DeepSeek config, and what a decoded token reads of each tensor. */
export function describeDeepseek(c: DeepseekConfig): ModelDescription {
  const dense = Array.from({ length: c.numLayers }, (_, l) => l).filter((l) => !isMoeLayer(c, l)).length;
  const lines: Array<readonly [string, string]> = [
    ['architecture', `${c.modelType}: ${c.numLayers} layers (${dense} dense, ${c.numLayers - dense} MoE), hidden ${c.hiddenSize}, vocab ${c.vocabSize}, context ${c.maxPositionEmbeddings}`],
    [
      'attention',
      `MLA: ${c.numHeads} heads, q_lora_rank ${c.qLoraRank ?? 'none (q_proj)'}, kv_lora_rank ${c.kvLoraRank}, qk nope/rope ${c.qkNopeHeadDim}/${c.qkRopeHeadDim}, v ${c.vHeadDim}, softmax scale ${attentionScale(c.qkNopeHeadDim + c.qkRopeHeadDim, c.yarn).toFixed(6)}` +
        (c.yarn ? `, YaRN factor ${c.yarn.factor} (original context ${c.yarn.originalMaxPositionEmbeddings})` : ''),
    ],
    ['sparse attn', c.indexer ? `DSA lightning indexer: ${c.indexer.nHeads} heads x ${c.indexer.headDim}, top-k ${c.indexer.topk}` : 'none (dense attention)'],
    ['experts', c.nRoutedExperts > 0 ? `${c.nRoutedExperts} routed (${c.numExpertsPerTok} per token; ${c.nGroup} groups, top ${c.topkGroup}), ${c.nSharedExperts} shared, ${c.scoringFunc} ${c.topkMethod}, scale ${c.routedScalingFactor}` : 'none'],
    ['quantization', c.fp8 ? `FP8 e4m3, ${c.fp8.blockSize.join('x')} blocks, ${c.fp8.scaleFormat} activation scales` : 'none'],
  ];
  const notes = c.numNextnPredictLayers > 0 ? [`multi-token prediction: ${c.numNextnPredictLayers} layer(s) after layer ${c.numLayers - 1} are loaded and ignored (no speculative decoding yet)`] : [];
  return {
    lines,
    kvLayout: deepseekKvLayout(c),
    usePerToken: (name) => {
      const layer = /^model\.layers\.(\d+)\./.exec(name);
      if (layer && Number(layer[1]) >= c.numLayers) return 0; // MTP layers are not run
      if (name === 'model.embed_tokens.weight') return c.tieWordEmbeddings ? 1 : 'row';
      if (/\.mlp\.experts\.\d+\./.test(name)) return c.numExpertsPerTok / c.nRoutedExperts;
      return 1;
    },
    notes,
  };
}
