// DeepSeek-V2 / V2-Lite / V3 / R1 (`deepseek2`) and V3.2 (`deepseek32`) GGUF files, as llama.cpp's
// convert_hf_to_gguf.py writes them (conversion/deepseek.py of the llama.cpp release bundled with
// node-llama-cpp 3.21.1): the config from the file's metadata, with the semantics llama.cpp gives
// those keys, and the GGUF name of every tensor the architecture binds.
//
// * kv_b_proj [H*(nope+v), kv_lora] is stored as is (`attn_kv_b`, older files) or split per head
//   (current files): attn_k_b [H, kv_lora, nope] (the nope rows, transposed) and attn_v_b
//   [H, v, kv_lora]. The split form is reassembled once: in the file's float type, or as F32 from
//   quantized blocks (transposed rows are not whole blocks); a quantized attn_kv_b is widened to F32
//   too, since the absorbed decode products read kv_b per element.
// * Routed experts are stacked (ffn_{gate,up,down}_exps) and bound as slices.
// * Routing as llama.cpp computes it: groups (expert_group_count > 1) are ranked by their top-2
//   scores whatever the gating function (DeepSeek-V2's group_limited_greedy ranks by the max);
//   exp_probs_b is optional (a zero bias stands in).
// * YaRN: llama.cpp derives the cos/sin amplitude and the softmax scale from yarn_log_multiplier
//   (0.1 * mscale_all_dim), rope.scaling.attn_factor and the factor; mscale and mscale_all_dim are
//   solved from those two numbers, so any file reproduces llama.cpp's scales.
import { decodeToF32, isQuantDType } from '../formats/dtype.js';
import { GgufError } from '../formats/gguf-errors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { encodeBf16, encodeF16, encodeF32 } from '../formats/gguf-codec.js';
import type { YarnParams } from '../numerics/rope.js';
import { yarnMscale } from '../numerics/rope.js';
import type { GgufArchitecture, GgufDerivedTensor, GgufTensorRef } from './architecture.js';
import type { DeepseekConfig, IndexerConfig } from './deepseek-config.js';
import type { GgufMetaReader } from './gguf-meta-reader.js';

// llama_expert_gating_func_type
const GATING_SOFTMAX = 1;
const GATING_SIGMOID = 2;

const LAYER_TENSORS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^input_layernorm\.weight$/, 'attn_norm.weight'],
  [/^post_attention_layernorm\.weight$/, 'ffn_norm.weight'],
  [/^self_attn\.q_a_proj\.weight$/, 'attn_q_a.weight'],
  [/^self_attn\.q_a_layernorm\.weight$/, 'attn_q_a_norm.weight'],
  [/^self_attn\.q_b_proj\.weight$/, 'attn_q_b.weight'],
  [/^self_attn\.q_proj\.weight$/, 'attn_q.weight'],
  [/^self_attn\.kv_a_proj_with_mqa\.weight$/, 'attn_kv_a_mqa.weight'],
  [/^self_attn\.kv_a_layernorm\.weight$/, 'attn_kv_a_norm.weight'],
  [/^self_attn\.o_proj\.weight$/, 'attn_output.weight'],
  [/^self_attn\.indexer\.wq_b\.weight$/, 'indexer.attn_q_b.weight'],
  [/^self_attn\.indexer\.wk\.weight$/, 'indexer.attn_k.weight'],
  [/^self_attn\.indexer\.k_norm\.(weight|bias)$/, 'indexer.k_norm.$1'],
  [/^self_attn\.indexer\.weights_proj\.weight$/, 'indexer.proj.weight'],
  [/^mlp\.(gate|up|down)_proj\.weight$/, 'ffn_$1.weight'],
  [/^mlp\.gate\.weight$/, 'ffn_gate_inp.weight'],
  [/^mlp\.shared_experts\.(gate|up|down)_proj\.weight$/, 'ffn_$1_shexp.weight'],
];

const GLOBAL_TENSORS: Readonly<Record<string, string>> = {
  'model.embed_tokens.weight': 'token_embd.weight',
  'model.norm.weight': 'output_norm.weight',
  'lm_head.weight': 'output.weight',
};

/** Whether the file stores kv_b split per head (attn_k_b / attn_v_b): llama.cpp's is_mla(). */
function isSplitForm(m: GgufMetaReader): boolean {
  return (m.optionalInt('attention.key_length_mla') ?? 0) > 0 && (m.optionalInt('attention.value_length_mla') ?? 0) > 0;
}

/** The cos/sin amplitude and softmax-scale factor llama.cpp's deepseek2 / deepseek32 graphs use, as YaRN params. */
function yarnOf(m: GgufMetaReader, contextLength: number): YarnParams | null {
  const type = m.str('rope.scaling.type', 'none');
  if (type === 'none') return null;
  if (type !== 'yarn') m.fail('rope.scaling.type', `DeepSeek models use "yarn" rope scaling (or none), got ${JSON.stringify(type)}`);
  const factor = m.num('rope.scaling.factor');
  const attnFactor = m.num('rope.scaling.attn_factor', 1);
  const logMul = m.num('rope.scaling.yarn_log_multiplier', 0) / 0.1; // the converter wrote 0.1 * mscale_all_dim
  const g = (x: number): number => yarnMscale(factor, x);
  // llama-context.cpp: the amplitude of cos/sin (yarn_attn_factor, times g(1) inside ggml's rope)
  const mscale = m.arch === 'deepseek2' && logMul !== 1 ? logMul : 1;
  const amplitude = (logMul !== 0 ? g(mscale) / g(logMul) : g(1)) * attnFactor;
  // deepseek2.cpp: kq_scale = (amplitude * g(logMul))^2 / sqrt(qk head dim)
  const root = amplitude * g(logMul);
  // Tessera: amplitude g(mscale) / g(mscale_all_dim), scale g(mscale_all_dim)^2 / sqrt(qk head dim)
  const unit = factor > 1 ? 0.1 * Math.log(factor) : 0;
  if (unit === 0 && (root !== 1 || amplitude !== 1)) m.fail('rope.scaling.attn_factor', `must be 1 when rope.scaling.factor (${factor}) is at most 1`);
  return Object.freeze({
    factor,
    originalMaxPositionEmbeddings: m.int('rope.scaling.original_context_length', contextLength),
    // llama.cpp's deepseek graphs read no yarn_beta_* keys
    betaFast: 32,
    betaSlow: 1,
    mscale: unit === 0 ? 1 : (amplitude * root - 1) / unit,
    mscaleAllDim: unit === 0 ? 0 : (root - 1) / unit,
  });
}

function indexerOf(m: GgufMetaReader): IndexerConfig | null {
  if (m.arch !== 'deepseek32') return null;
  const headDim = m.int('attention.indexer.key_length');
  if (headDim !== 128) m.fail('attention.indexer.key_length', `the indexer quantizes one 128-wide block per key; must be 128, got ${headDim}`);
  return Object.freeze({ nHeads: m.int('attention.indexer.head_count'), headDim, topk: m.int('attention.indexer.top_k') });
}

function deepseekGgufConfig(m: GgufMetaReader, tensors: TensorStore): DeepseekConfig {
  const split = isSplitForm(m);
  const indexer = indexerOf(m);
  if (indexer && !split) m.fail('attention.key_length_mla', 'deepseek32 files store MLA in the split form (key_length_mla and value_length_mla)');
  const rope = m.int('rope.dimension_count');
  if (rope % 2 !== 0) m.fail('rope.dimension_count', `must be even, got ${rope}`);
  // split form: the *_mla keys hold the real head sizes (key_length / value_length describe the latent cache row)
  const qkHead = split ? m.int('attention.key_length_mla') : m.int('attention.key_length');
  const vHead = split ? m.int('attention.value_length_mla') : m.int('attention.value_length');
  if (qkHead <= rope) m.fail(split ? 'attention.key_length_mla' : 'attention.key_length', `must exceed rope.dimension_count (${rope}), got ${qkHead}`);
  const numHeads = m.int('attention.head_count');
  if (!split && m.int('attention.head_count_kv', numHeads) !== numHeads) m.fail('attention.head_count_kv', `files with attn_kv_b need head_count_kv == head_count (${numHeads})`);

  const qLoraKey = m.optionalInt('attention.q_lora_rank');
  if (qLoraKey === null && tensors.has('blk.0.attn_q_a.weight')) m.fail('attention.q_lora_rank', 'missing metadata key (the file has attn_q_a)');
  const qLoraRank = qLoraKey ? qLoraKey : null; // 0: a plain attn_q (DeepSeek-V2-Lite)
  if (indexer && qLoraRank === null) m.fail('attention.q_lora_rank', 'deepseek32 needs a q LoRA (the indexer reads the compressed query)');

  const nRoutedExperts = m.optionalInt('expert_count') ?? 0;
  const moe = nRoutedExperts > 0;
  const gating = m.optionalInt('expert_gating_func') ?? 0;
  if (moe && gating !== 0 && gating !== GATING_SOFTMAX && gating !== GATING_SIGMOID) m.fail('expert_gating_func', `must be ${GATING_SOFTMAX} (softmax) or ${GATING_SIGMOID} (sigmoid), got ${gating}`);
  const scoringFunc = gating === GATING_SIGMOID ? 'sigmoid' : 'softmax'; // absent: softmax (older V2 files)
  const groups = m.optionalInt('expert_group_count') ?? 0;
  const nGroup = groups > 1 ? groups : 1;
  const topkGroup = nGroup > 1 ? m.int('expert_group_used_count') : 1;
  const numExpertsPerTok = moe ? m.int('expert_used_count') : 0;
  if (moe) {
    if (nRoutedExperts % nGroup !== 0) m.fail('expert_group_count', `expert_count (${nRoutedExperts}) must be a multiple of it (${nGroup})`);
    if (topkGroup > nGroup) m.fail('expert_group_used_count', `must be at most expert_group_count (${nGroup}), got ${topkGroup}`);
    const perGroup = nRoutedExperts / nGroup;
    if (nGroup > 1 && perGroup < 2) m.fail('expert_group_count', `groups are ranked by their two best experts: expert_count / expert_group_count (${nRoutedExperts} / ${nGroup}) must be at least 2`);
    if (numExpertsPerTok > topkGroup * perGroup) m.fail('expert_used_count', `${numExpertsPerTok} exceeds the ${topkGroup * perGroup} experts of the expert_group_used_count groups`);
  }
  const nextn = m.optionalInt('nextn_predict_layers') ?? 0;
  const blocks = m.int('block_count');
  if (nextn >= blocks) m.fail('nextn_predict_layers', `must be less than block_count (${blocks}), got ${nextn}`);
  const contextLength = m.int('context_length');
  if (!tensors.has('token_embd.weight')) throw new GgufError('tensor-not-found', m.file, 'no such tensor in the model', { tensor: 'token_embd.weight' });
  const lead = m.optionalInt('leading_dense_block_count') ?? 0;
  const eos = m.optionalInt('tokenizer.ggml.eos_token_id');
  return Object.freeze({
    modelType: indexer ? 'deepseek_v32' : scoringFunc === 'sigmoid' ? 'deepseek_v3' : 'deepseek_v2',
    vocabSize: m.optionalInt('vocab_size') ?? m.arrayLength('tokenizer.ggml.tokens') ?? tensors.info('token_embd.weight').shape[0]!,
    hiddenSize: m.int('embedding_length'),
    numLayers: blocks - nextn,
    numHeads,
    qLoraRank,
    kvLoraRank: m.int('attention.kv_lora_rank'),
    qkNopeHeadDim: qkHead - rope,
    qkRopeHeadDim: rope,
    vHeadDim: vHead,
    intermediateSize: m.int('feed_forward_length', lead > 0 || !moe ? undefined : 1),
    moeIntermediateSize: moe ? m.int('expert_feed_forward_length') : 0,
    nRoutedExperts,
    nSharedExperts: m.optionalInt('expert_shared_count') ?? 0,
    numExpertsPerTok,
    nGroup,
    topkGroup,
    // llama.cpp ranks groups by their top-2 (biased) scores; without groups softmax picks greedily
    topkMethod: scoringFunc === 'sigmoid' || nGroup > 1 ? 'noaux_tc' : 'greedy',
    scoringFunc,
    normTopkProb: m.bool('expert_weights_norm', false),
    routedScalingFactor: m.num('expert_weights_scale', 0) || 1, // llama.cpp: 0 means no scaling
    firstKDenseReplace: lead,
    moeLayerFreq: 1, // llama.cpp makes every layer from leading_dense_block_count on an MoE layer
    rmsNormEps: m.num('attention.layer_norm_rms_epsilon'),
    ropeTheta: m.num('rope.freq_base', 10000),
    yarn: yarnOf(m, contextLength),
    maxPositionEmbeddings: contextLength,
    tieWordEmbeddings: !tensors.has('output.weight'),
    bosTokenId: m.optionalInt('tokenizer.ggml.bos_token_id'),
    eosTokenIds: Object.freeze(eos === null ? [] : [eos]),
    numNextnPredictLayers: nextn,
    indexer,
    fp8: null,
  });
}

function f32Values(file: TensorStore, name: string, shape: readonly number[]): Float32Array {
  const t = file.info(name);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new GgufError('bad-tensor-info', file.source, `shape [${t.shape.join(', ')}] disagrees with the metadata, which implies [${shape.join(', ')}]`, { tensor: name });
  }
  if (t.dtype !== 'F32' && t.dtype !== 'F16' && t.dtype !== 'BF16' && !isQuantDType(t.dtype)) throw new GgufError('unsupported-type', file.source, `type ${t.dtype} cannot be computed with`, { tensor: name });
  return decodeToF32(file.read(name), t.dtype);
}

/** Bytes of `values` in a float type (exact: the values were widened from that type or from F32). */
function floatBytes(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  return dtype === 'F32' ? encodeF32(values) : dtype === 'F16' ? encodeF16(values) : encodeBf16(values);
}

/** The float type a reassembled kv_b is kept in: the file's own float type, F32 for blocks. */
function keepType(file: TensorStore, names: readonly string[]): 'F32' | 'F16' | 'BF16' {
  const types = new Set(names.map((n) => file.info(n).dtype));
  const [only] = types;
  return types.size === 1 && (only === 'F16' || only === 'BF16' || only === 'F32') ? only : 'F32';
}

/** kv_b_proj [H*(nope+v), r] from attn_k_b [H, r, nope] (transposed back) and attn_v_b [H, v, r]. */
function kvBFromSplit(c: DeepseekConfig, layer: number, file: TensorStore): GgufDerivedTensor {
  const H = c.numHeads;
  const nope = c.qkNopeHeadDim;
  const v = c.vHeadDim;
  const r = c.kvLoraRank;
  const kName = `blk.${layer}.attn_k_b.weight`;
  const vName = `blk.${layer}.attn_v_b.weight`;
  const dtype = file.has(kName) && file.has(vName) ? keepType(file, [kName, vName]) : 'F32';
  return {
    from: [kName, vName],
    dtype,
    shape: [H * (nope + v), r],
    compute(file) {
      const kb = f32Values(file, kName, [H, r, nope]);
      const vb = f32Values(file, vName, [H, v, r]);
      const out = new Float32Array(H * (nope + v) * r);
      for (let h = 0; h < H; h++) {
        const base = h * (nope + v) * r;
        for (let j = 0; j < r; j++) for (let i = 0; i < nope; i++) out[base + i * r + j] = kb[(h * r + j) * nope + i]!;
        out.set(vb.subarray(h * v * r, (h + 1) * v * r), base + nope * r);
      }
      return floatBytes(out, dtype);
    },
  };
}

/** A quantized attn_kv_b widened to F32 (the absorbed decode products read kv_b per element). */
function kvBWidened(c: DeepseekConfig, name: string): GgufDerivedTensor {
  return {
    from: [name],
    dtype: 'F32',
    shape: [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank],
    compute: (file) => encodeF32(f32Values(file, name, [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank])),
  };
}

/** The zero correction bias of group-ranked routing in a file without exp_probs_b. */
function zeroBias(experts: number, router: string): GgufDerivedTensor {
  return { from: [router], dtype: 'F32', shape: [experts], compute: () => new Uint8Array(experts * 4) };
}

/** The GGUF tensor (or slice, or reassembly) holding a tensor the architecture binds by its Hugging Face name. */
export function deepseekGgufRef(hf: string, c: DeepseekConfig, file: TensorStore): GgufTensorRef | null {
  const global = GLOBAL_TENSORS[hf];
  if (global) return global;
  const m = /^model\.layers\.(\d+)\.(.+)$/.exec(hf);
  if (!m) return null;
  const b = `blk.${m[1]}`;
  const rest = m[2]!;
  if (rest === 'self_attn.kv_b_proj.weight') {
    const legacy = `${b}.attn_kv_b.weight`;
    if (!file.has(legacy)) return kvBFromSplit(c, Number(m[1]), file);
    return isQuantDType(file.info(legacy).dtype) ? kvBWidened(c, legacy) : legacy;
  }
  if (rest === 'mlp.gate.e_score_correction_bias') {
    const bias = `${b}.exp_probs_b.bias`;
    return file.has(bias) || c.topkMethod !== 'noaux_tc' ? bias : zeroBias(c.nRoutedExperts, `${b}.ffn_gate_inp.weight`);
  }
  const expert = /^mlp\.experts\.(\d+)\.(gate|up|down)_proj\.weight$/.exec(rest);
  if (expert) return { name: `${b}.ffn_${expert[2]}_exps.weight`, slice: Number(expert[1]) };
  for (const [re, to] of LAYER_TENSORS) if (re.test(rest)) return `${b}.${rest.replace(re, to)}`;
  return null;
}

/** The file each config was read from (tensorName maps names by what the file holds). */
const FILES = new WeakMap<DeepseekConfig, TensorStore>();

export const DEEPSEEK_GGUF: GgufArchitecture<DeepseekConfig> = {
  architectures: ['deepseek2', 'deepseek32'],
  config(m, tensors) {
    const c = deepseekGgufConfig(m, tensors);
    FILES.set(c, tensors);
    return c;
  },
  tensorName(hf, c) {
    const file = FILES.get(c);
    if (!file) throw new Error('deepseek GGUF tensor names asked for a config not read from a GGUF file');
    return deepseekGgufRef(hf, c, file);
  },
};
