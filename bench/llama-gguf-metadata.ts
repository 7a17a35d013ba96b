// GGUF metadata of a Llama / Qwen2 / Qwen3 checkpoint, with the keys, value types and conditions of
// llama.cpp's converter (conversion/base.py `TextModel.set_gguf_parameters`, conversion/llama.py,
// conversion/qwen.py): the generic hyperparameters for every architecture, key_length /
// value_length only when config.json has head_dim, vocab_size and rope.dimension_count for `llama`
// only, rope.scaling.* for linear and YaRN scaling (Llama 3 scaling travels as the rope_freqs
// tensor instead), and the optional YaRN keys only when config.json has them. head_count_kv and
// rope.freq_base are written even where config.json leaves them to their defaults (the converter
// then omits them), with the values llama.cpp would default to.
//
// The tokenizer is a stand-in that llama.cpp loads, not the checkpoint's: byte-level `gpt2` with one
// token per GPT-2 byte character for ids < 256, `[PAD<id>]` (UNUSED) above, no merges, and the
// config's BOS / EOS ids as control tokens (`<|bos|>`, `<|eos|>`; they replace the byte token of
// that id). Evaluating token ids needs nothing more.
import { BYTE_TO_UNICODE } from '../src/tokenizer/byte-level.js';
import { gv } from '../src/formats/gguf-types.js';
import type { GgufValue } from '../src/formats/gguf-types.js';
import type { LlamaConfig } from '../src/models/llama-config.js';
import { LLAMA_FILE_TYPE } from './gguf-quant.js';
import type { GgufOutType } from './gguf-quant.js';

type Entry = [string, GgufValue];

/** GGML_QUANT_VERSION, which gguf-py writes into every file. */
const GGML_QUANT_VERSION = 2;

// llama_token_type
const NORMAL = 1;
const CONTROL = 3;
const UNUSED = 5;

export function llamaFamilyMetadata(c: LlamaConfig, raw: Readonly<Record<string, unknown>>, name: string, out: GgufOutType): Entry[] {
  const arch = c.modelType;
  const k = (key: string): string => `${arch}.${key}`;
  const entries: Entry[] = [
    ['general.architecture', gv.str(arch)],
    ['general.type', gv.str('model')],
    ['general.name', gv.str(name)],
    [k('block_count'), gv.u32(c.numLayers)],
    [k('context_length'), gv.u32(c.maxPositionEmbeddings)],
    [k('embedding_length'), gv.u32(c.hiddenSize)],
    [k('feed_forward_length'), gv.u32(c.intermediateSize)],
    [k('attention.head_count'), gv.u32(c.numHeads)],
    [k('attention.head_count_kv'), gv.u32(c.numKvHeads)],
    ...ropeScalingMetadata(c, raw, k),
    [k('rope.freq_base'), gv.f32(c.ropeTheta)],
    [k('attention.layer_norm_rms_epsilon'), gv.f32(c.rmsNormEps)],
  ];
  if (raw['head_dim'] !== undefined && raw['head_dim'] !== null) {
    entries.push([k('attention.key_length'), gv.u32(c.headDim)], [k('attention.value_length'), gv.u32(c.headDim)]);
  }
  entries.push(['general.file_type', gv.u32(LLAMA_FILE_TYPE[out])]);
  if (arch === 'llama') {
    // llama.cpp's llama graph rejects a rope.dimension_count other than the head size ("invalid n_rot").
    entries.push([k('vocab_size'), gv.u32(c.vocabSize)], [k('rope.dimension_count'), gv.u32(c.headDim)]);
  }
  entries.push(['general.quantization_version', gv.u32(GGML_QUANT_VERSION)], ...tokenizerMetadata(c));
  return entries;
}

function ropeScalingMetadata(c: LlamaConfig, raw: Readonly<Record<string, unknown>>, k: (key: string) => string): Entry[] {
  const s = c.ropeScaling;
  if (s?.type === 'linear') return [[k('rope.scaling.type'), gv.str('linear')], [k('rope.scaling.factor'), gv.f32(s.factor)]];
  if (s?.type !== 'yarn') return [];
  const given = (raw['rope_scaling'] ?? {}) as Record<string, unknown>;
  const optional = (key: string, ...from: string[]): Entry[] => {
    const v = from.map((f) => given[f]).find((x) => typeof x === 'number');
    return typeof v === 'number' ? [[k(key), gv.f32(v)]] : [];
  };
  return [
    [k('rope.scaling.type'), gv.str('yarn')],
    [k('rope.scaling.factor'), gv.f32(s.yarn.factor)],
    [k('rope.scaling.original_context_length'), gv.u32(s.yarn.originalMaxPositionEmbeddings)],
    ...optional('rope.scaling.yarn_ext_factor', 'extrapolation_factor'),
    // Written as the converter does; llama.cpp's llama / qwen2 / qwen3 graphs do not read it.
    ...optional('rope.scaling.yarn_attn_factor', 'attention_factor', 'attn_factor'),
    ...optional('rope.scaling.yarn_beta_fast', 'beta_fast'),
    ...optional('rope.scaling.yarn_beta_slow', 'beta_slow'),
  ];
}

function tokenizerMetadata(c: LlamaConfig): Entry[] {
  const bytes = BYTE_TO_UNICODE;
  const tokens = Array.from({ length: c.vocabSize }, (_, id) => bytes[id] ?? `[PAD${id}]`);
  const types: number[] = tokens.map((_, id) => (id < bytes.length ? NORMAL : UNUSED));
  const special: Entry[] = [];
  // llama.cpp holds one EOS id; of a list (Llama 3.1 Instruct) the first is the primary one.
  const eos = c.eosTokenIds[0];
  for (const [role, id] of [['eos', eos], ['bos', c.bosTokenId]] as const) {
    if (id === undefined || id === null || id >= c.vocabSize) continue;
    tokens[id] = `<|${role}|>`;
    types[id] = CONTROL;
    special.push([`tokenizer.ggml.${role}_token_id`, gv.u32(id)]);
  }
  return [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str(c.modelType === 'llama' ? 'llama-bpe' : 'qwen2')],
    ['tokenizer.ggml.tokens', gv.strings(tokens)],
    ['tokenizer.ggml.token_type', gv.numbers('i32', types)],
    ['tokenizer.ggml.merges', gv.strings([])], // llama.cpp requires the key for gpt2; empty is fine
    ...special,
  ];
}
