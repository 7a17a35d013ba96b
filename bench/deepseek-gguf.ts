// A Hugging Face DeepSeek-V2 / V3 / V3.2 checkpoint as the GGUF file llama.cpp's convert_hf_to_gguf.py
// writes (conversion/deepseek.py DeepseekV2Model / DeepseekV32Model, conversion/base.py of the
// llama.cpp release bundled with node-llama-cpp 3.21.1), in any type of gguf-quant.ts, so that
// llama.cpp runs the very weights Tessera runs (tests write random tiny checkpoints this way;
// deepseek2-gguf.ts writes the benchmark model):
//
// * architecture `deepseek2` (V2, V3) or `deepseek32` (V3.2, with the indexer tensors);
// * kv_b_proj split per head into attn_k_b [H, kv_lora, nope] (transposed) and attn_v_b
//   [H, v, kv_lora], with head_count_kv 1 and the *_mla head sizes, as current converters write
//   it; or `kvB: 'legacy'`: attn_kv_b as is, head_count_kv = H, as older files have it;
// * experts stacked: ffn_{gate,up}_exps [E, moe_ff, hidden], ffn_down_exps [E, hidden, moe_ff];
// * types: 1-D tensors, norms, the router ffn_gate_inp and indexer.proj F32 (the converter's
//   list), the rest in the requested type or mix; rows that are not whole blocks fall back as
//   llama-quantize does (attn_k_b rows are only `nope` wide).
//
// Where the converter writes a file llama.cpp cannot run, this writer deviates or refuses:
// q_lora_rank null is written as 0 (llama.cpp requires the key except for 26/27-layer files; 0
// selects attn_q); expert_group_count == expert_group_used_count > 1 is written as 1 group (the
// same routing; llama.cpp aborts on it); moe_layer_freq != 1 and checkpoints without shared experts
// are refused (llama.cpp's graph cannot hold them). No MTP layers are written (the V2/V3 converter
// drops them too).
import { BYTE_TO_UNICODE } from '../src/tokenizer/byte-level.js';
import { basename, resolve } from 'node:path';
import { decodeToF32 } from '../src/formats/dtype.js';
import { ModelFormatError } from '../src/formats/errors.js';
import { writeGguf } from '../src/formats/gguf-writer.js';
import type { GgufTensorSpec } from '../src/formats/gguf-writer.js';
import { gv } from '../src/formats/gguf-types.js';
import type { GgufValue } from '../src/formats/gguf-types.js';
import { openHfDirectory } from '../src/formats/hf-directory.js';
import type { HfDirectory } from '../src/formats/hf-directory.js';
import { isMoeLayer, parseDeepseekConfig } from '../src/models/deepseek-config.js';
import type { DeepseekConfig } from '../src/models/deepseek-config.js';
import { LLAMA_FILE_TYPE, encodeGgufTensor, ggufTensorType } from './gguf-quant.js';
import type { GgufOutType, GgufTensorType } from './gguf-quant.js';

export interface DeepseekGgufOptions {
  /** Type of the matrices (llama.cpp's `--outtype`, a `llama-quantize --pure` type, or Q4_K_M). */
  readonly dtype: GgufOutType;
  /** 'split' (attn_k_b / attn_v_b, current converters; default) or 'legacy' (attn_kv_b). */
  readonly kvB?: 'split' | 'legacy';
}

type Entry = [string, GgufValue];

interface PlannedTensor extends GgufTensorSpec {
  readonly type: GgufTensorType;
  readonly values: () => Float32Array;
}

/** Tensors the converter keeps in F32 beyond 1-D tensors and norms. */
const F32_MATRICES = /\.(ffn_gate_inp|indexer\.proj)\.weight$/;

export async function writeDeepseekGguf(hfDir: string, ggufPath: string, options: DeepseekGgufOptions): Promise<void> {
  const hf = openHfDirectory(hfDir);
  try {
    const c = parseDeepseekConfig(hf.configPath, hf.config);
    const split = (options.kvB ?? 'split') === 'split';
    const tensors = planTensors(c, hf, options.dtype, split);
    await writeGguf(ggufPath, {
      metadata: deepseekGgufMetadata(c, basename(resolve(hfDir)), options.dtype, split),
      tensors,
      data: (_t, i) => encodeGgufTensor(tensors[i]!.values(), tensors[i]!.type),
    });
  } finally {
    hf.tensors.close();
  }
}

function checkSupported(c: DeepseekConfig, configPath: string): void {
  const fail = (key: string, problem: string): never => {
    throw new ModelFormatError(configPath, `${problem}; llama.cpp's deepseek2 architecture cannot hold it`, { key });
  };
  if (c.nRoutedExperts > 0 && c.moeLayerFreq !== 1) fail('moe_layer_freq', `MoE every ${c.moeLayerFreq} layers`);
  if (c.nRoutedExperts > 0 && c.nSharedExperts === 0) fail('n_shared_experts', 'no shared experts (llama.cpp requires ffn_*_shexp)');
  if (c.fp8) fail('quantization_config', 'FP8 weights (dequantize first)');
}

export function deepseekGgufMetadata(c: DeepseekConfig, name: string, out: GgufOutType, split: boolean): Entry[] {
  const arch = c.indexer ? 'deepseek32' : 'deepseek2';
  const k = (key: string): string => `${arch}.${key}`;
  const u32 = (key: string, v: number): Entry => [k(key), gv.u32(v)];
  const f32 = (key: string, v: number): Entry => [k(key), gv.f32(v)];
  const rope = c.qkRopeHeadDim;
  const r = c.kvLoraRank;
  const entries: Entry[] = [
    ['general.architecture', gv.str(arch)],
    ['general.type', gv.str('model')],
    ['general.name', gv.str(name)],
    u32('block_count', c.numLayers),
    u32('context_length', c.maxPositionEmbeddings),
    u32('embedding_length', c.hiddenSize),
    u32('feed_forward_length', c.intermediateSize),
    u32('attention.head_count', c.numHeads),
    u32('attention.head_count_kv', split ? 1 : c.numHeads),
  ];
  if (c.yarn) {
    entries.push([k('rope.scaling.type'), gv.str('yarn')], f32('rope.scaling.factor', c.yarn.factor), u32('rope.scaling.original_context_length', c.yarn.originalMaxPositionEmbeddings));
    entries.push(f32('rope.scaling.yarn_beta_fast', c.yarn.betaFast), f32('rope.scaling.yarn_beta_slow', c.yarn.betaSlow));
  }
  entries.push(f32('rope.freq_base', c.ropeTheta), f32('attention.layer_norm_rms_epsilon', c.rmsNormEps));
  if (c.nRoutedExperts > 0) {
    // llama.cpp aborts on as many used groups as groups (> 1): one group routes the same
    const groups = c.topkGroup >= c.nGroup ? 1 : c.nGroup;
    entries.push(u32('expert_count', c.nRoutedExperts), u32('expert_used_count', c.numExpertsPerTok));
    entries.push(u32('expert_group_count', groups), u32('expert_group_used_count', groups === 1 ? 1 : c.topkGroup));
    entries.push(u32('expert_gating_func', c.scoringFunc === 'sigmoid' ? 2 : 1));
  }
  entries.push(['general.file_type', gv.u32(LLAMA_FILE_TYPE[out])], u32('leading_dense_block_count', c.firstKDenseReplace), u32('vocab_size', c.vocabSize));
  entries.push(u32('attention.q_lora_rank', c.qLoraRank ?? 0), u32('attention.kv_lora_rank', r));
  if (split) {
    entries.push(u32('attention.key_length', r + rope), u32('attention.value_length', r));
    entries.push(u32('attention.key_length_mla', c.qkNopeHeadDim + rope), u32('attention.value_length_mla', c.vHeadDim));
  } else {
    entries.push(u32('attention.key_length', c.qkNopeHeadDim + rope), u32('attention.value_length', c.vHeadDim));
  }
  if (c.nRoutedExperts > 0) {
    entries.push(u32('expert_feed_forward_length', c.moeIntermediateSize), u32('expert_shared_count', c.nSharedExperts));
    entries.push(f32('expert_weights_scale', c.routedScalingFactor));
    if (c.normTopkProb) entries.push([k('expert_weights_norm'), gv.bool(true)]);
  }
  entries.push(u32('rope.dimension_count', rope));
  if (c.yarn && c.yarn.mscaleAllDim) entries.push(f32('rope.scaling.yarn_log_multiplier', 0.1 * c.yarn.mscaleAllDim));
  if (c.indexer) entries.push(u32('attention.indexer.head_count', c.indexer.nHeads), u32('attention.indexer.key_length', c.indexer.headDim), u32('attention.indexer.top_k', c.indexer.topk));
  entries.push(['general.quantization_version', gv.u32(2)], ...tokenizerMetadata(c));
  return entries;
}

/** A stand-in vocabulary llama.cpp loads (token ids are what tests feed): byte tokens, BOS / EOS control tokens. */
function tokenizerMetadata(c: DeepseekConfig): Entry[] {
  const bytes = BYTE_TO_UNICODE;
  const tokens = Array.from({ length: c.vocabSize }, (_, id) => bytes[id] ?? `[PAD${id}]`);
  const types: number[] = tokens.map((_, id) => (id < bytes.length ? 1 : 5)); // NORMAL, UNUSED
  const special: Entry[] = [];
  for (const [role, id, text] of [['bos', c.bosTokenId, '<｜begin▁of▁sentence｜>'], ['eos', c.eosTokenIds[0], '<｜end▁of▁sentence｜>']] as const) {
    if (id === undefined || id === null || id >= c.vocabSize) continue;
    tokens[id] = text;
    types[id] = 3; // CONTROL
    special.push([`tokenizer.ggml.${role}_token_id`, gv.u32(id)]);
  }
  return [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str('deepseek-v3')],
    ['tokenizer.ggml.tokens', gv.strings(tokens)],
    ['tokenizer.ggml.token_type', gv.numbers('i32', types)],
    ['tokenizer.ggml.merges', gv.strings([])],
    ...special,
  ];
}

function planTensors(c: DeepseekConfig, hf: HfDirectory, out: GgufOutType, split: boolean): PlannedTensor[] {
  checkSupported(c, hf.configPath);
  const store = hf.tensors;
  const plan: PlannedTensor[] = [];
  const read = (hfName: string): Float32Array => decodeToF32(store.read(hfName), store.info(hfName).dtype);
  const typeOf = (name: string, shape: readonly number[]): GgufTensorType =>
    F32_MATRICES.test(name) ? 'F32' : ggufTensorType(name, shape, out, { layers: c.numLayers, tiedEmbedding: c.tieWordEmbeddings });
  const add = (name: string, shape: readonly number[], values: () => Float32Array): void => {
    plan.push({ name, type: typeOf(name, shape), shape, values });
  };
  const from = (name: string, hfName: string): void => add(name, store.info(hfName).shape, () => read(hfName));

  const H = c.numHeads;
  const nope = c.qkNopeHeadDim;
  const v = c.vHeadDim;
  const r = c.kvLoraRank;
  const h = c.hiddenSize;
  from('token_embd.weight', 'model.embed_tokens.weight');
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const b = `blk.${l}`;
    from(`${b}.attn_norm.weight`, `${p}.input_layernorm.weight`);
    if (c.qLoraRank !== null) {
      from(`${b}.attn_q_a_norm.weight`, `${a}.q_a_layernorm.weight`);
      from(`${b}.attn_q_a.weight`, `${a}.q_a_proj.weight`);
      from(`${b}.attn_q_b.weight`, `${a}.q_b_proj.weight`);
    } else from(`${b}.attn_q.weight`, `${a}.q_proj.weight`);
    from(`${b}.attn_kv_a_norm.weight`, `${a}.kv_a_layernorm.weight`);
    from(`${b}.attn_kv_a_mqa.weight`, `${a}.kv_a_proj_with_mqa.weight`);
    const kvb = `${a}.kv_b_proj.weight`;
    if (split) {
      add(`${b}.attn_k_b.weight`, [H, r, nope], () => splitKvB(read(kvb), H, nope, v, r, 'k'));
      add(`${b}.attn_v_b.weight`, [H, v, r], () => splitKvB(read(kvb), H, nope, v, r, 'v'));
    } else from(`${b}.attn_kv_b.weight`, kvb);
    from(`${b}.attn_output.weight`, `${a}.o_proj.weight`);
    from(`${b}.ffn_norm.weight`, `${p}.post_attention_layernorm.weight`);
    if (c.indexer) {
      const ix = `${a}.indexer`;
      from(`${b}.indexer.k_norm.weight`, `${ix}.k_norm.weight`);
      from(`${b}.indexer.k_norm.bias`, `${ix}.k_norm.bias`);
      from(`${b}.indexer.proj.weight`, `${ix}.weights_proj.weight`);
      from(`${b}.indexer.attn_k.weight`, `${ix}.wk.weight`);
      from(`${b}.indexer.attn_q_b.weight`, `${ix}.wq_b.weight`);
    }
    const m = `${p}.mlp`;
    if (!isMoeLayer(c, l)) {
      for (const proj of ['gate', 'up', 'down'] as const) from(`${b}.ffn_${proj}.weight`, `${m}.${proj}_proj.weight`);
      continue;
    }
    from(`${b}.ffn_gate_inp.weight`, `${m}.gate.weight`);
    if (store.has(`${m}.gate.e_score_correction_bias`)) from(`${b}.exp_probs_b.bias`, `${m}.gate.e_score_correction_bias`);
    const E = c.nRoutedExperts;
    const f = c.moeIntermediateSize;
    for (const [proj, shape] of [['gate', [E, f, h]], ['up', [E, f, h]], ['down', [E, h, f]]] as const) {
      add(`${b}.ffn_${proj}_exps.weight`, shape, () => {
        const all = new Float32Array(E * f * h);
        for (let e = 0; e < E; e++) all.set(read(`${m}.experts.${e}.${proj}_proj.weight`), e * f * h);
        return all;
      });
    }
    for (const proj of ['gate', 'up', 'down'] as const) from(`${b}.ffn_${proj}_shexp.weight`, `${m}.shared_experts.${proj}_proj.weight`);
  }
  from('output_norm.weight', 'model.norm.weight');
  if (!c.tieWordEmbeddings) from('output.weight', 'lm_head.weight');
  return plan;
}

/**
 * kv_b_proj [H*(nope+v), r] viewed as [H, nope+v, r]: 'k' -> rows [0, nope) of each head,
 * transposed to [H, r, nope]; 'v' -> rows [nope, nope+v): [H, v, r].
 */
export function splitKvB(kvb: Float32Array, H: number, nope: number, v: number, r: number, part: 'k' | 'v'): Float32Array {
  const rows = nope + v;
  if (kvb.length !== H * rows * r) throw new Error(`kv_b_proj has ${kvb.length} elements, expected ${H * rows * r}`);
  if (part === 'v') {
    const out = new Float32Array(H * v * r);
    for (let hd = 0; hd < H; hd++) out.set(kvb.subarray((hd * rows + nope) * r, (hd * rows + rows) * r), hd * v * r);
    return out;
  }
  const out = new Float32Array(H * r * nope);
  for (let hd = 0; hd < H; hd++) {
    for (let i = 0; i < nope; i++) for (let j = 0; j < r; j++) out[(hd * r + j) * nope + i] = kvb[(hd * rows + i) * r + j]!;
  }
  return out;
}
