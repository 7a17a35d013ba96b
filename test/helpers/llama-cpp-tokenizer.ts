// Test support: llama.cpp's own tokenizer on a Hugging Face tokenizer.json. The vocabulary is laid
// out as convert_hf_to_gguf.py writes it (tokens by id, token types, merges, BOS/EOS, `pre`), inside
// a minimal llama-architecture model (one layer, hidden size 8, random F32 tensors) so the file is a
// complete model; node-llama-cpp's prebuilt CPU binary then loads it (no build, no download).
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { writeGguf } from '../../src/formats/gguf-writer.js';
import type { GgufTensorSpec } from '../../src/formats/gguf-writer.js';
import { gv } from '../../src/formats/gguf-types.js';
import type { GgufValue } from '../../src/formats/gguf-types.js';
import type { TokenizerJson } from './distill-tokenizers.js';

/** gguf-py's TokenType values (tokenizer.ggml.token_type). */
const TOKEN_TYPE = { normal: 1, control: 3, userDefined: 4, unused: 5 } as const;

export interface GgufVocab {
  readonly tokens: readonly string[];
  readonly types: readonly number[];
  readonly merges: readonly string[];
}

// convert_hf_to_gguf.py's does_token_look_special, for the shapes our vocabularies have.
function looksSpecial(token: string): boolean {
  return (token.startsWith('<|') && token.endsWith('|>')) || (token.startsWith('<｜') && token.endsWith('｜>'));
}

/**
 * Token list, types and merges as the converter's get_vocab_base writes them: an added token is
 * CONTROL when marked special or when it looks special (`<｜…｜>`, `<|…|>`), else USER_DEFINED (so
 * DeepSeek's `<｜User｜>` is CONTROL although tokenizer.json says special: false, and `<think>` is
 * USER_DEFINED); ids without a token become UNUSED `[PAD{i}]` entries.
 */
export function ggufVocab(tokenizer: TokenizerJson): GgufVocab {
  const byId = new Map<number, { token: string; type: number }>();
  for (const [token, id] of Object.entries(tokenizer.model.vocab)) byId.set(id, { token, type: TOKEN_TYPE.normal });
  for (const t of tokenizer.added_tokens) {
    const type = t.special || looksSpecial(t.content) ? TOKEN_TYPE.control : TOKEN_TYPE.userDefined;
    // The converter pre-normalizes user-defined tokens' ▁ to a space; none of ours contain one.
    byId.set(t.id, { token: type === TOKEN_TYPE.userDefined ? t.content.replaceAll('▁', ' ') : t.content, type });
  }
  let size = 0;
  for (const id of byId.keys()) size = Math.max(size, id + 1);
  const tokens: string[] = [];
  const types: number[] = [];
  for (let id = 0; id < size; id++) {
    const entry = byId.get(id);
    tokens.push(entry?.token ?? `[PAD${id}]`);
    types.push(entry?.type ?? TOKEN_TYPE.unused);
  }
  // Newer tokenizer.json files store merges as pairs; gguf-py joins them with a space.
  const merges = tokenizer.model.merges.map((m) => (typeof m === 'string' ? m : m.join(' ')));
  return { tokens, types, merges };
}

export interface VocabModelOptions {
  /** tokenizer.ggml.pre: the pre-tokenizer llama.cpp applies ('llama-bpe', 'qwen2', ...). */
  readonly pre: string;
  readonly bosId: number;
  readonly eosId: number;
  readonly addBos: boolean;
}

const HIDDEN = 8;
const FFN = 16;

// Deterministic small values; the weights are never used for anything but loading.
function randomF32(count: number, seed: number): Uint8Array {
  const out = new Float32Array(count);
  let s = seed >>> 0;
  for (let i = 0; i < count; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 0x100000000 - 0.5) * 0.1;
  }
  return new Uint8Array(out.buffer);
}

/** Writes a one-layer llama model whose vocabulary is `vocab` (output tied to token_embd). */
export async function writeVocabModel(path: string, vocab: GgufVocab, options: VocabModelOptions): Promise<void> {
  const n = vocab.tokens.length;
  const metadata: Array<readonly [string, GgufValue]> = [
    ['general.architecture', gv.str('llama')],
    ['general.name', gv.str('tessera-vocab-test')],
    ['general.file_type', gv.u32(0)],
    ['llama.block_count', gv.u32(1)],
    ['llama.context_length', gv.u32(256)],
    ['llama.embedding_length', gv.u32(HIDDEN)],
    ['llama.feed_forward_length', gv.u32(FFN)],
    ['llama.attention.head_count', gv.u32(2)],
    ['llama.attention.head_count_kv', gv.u32(2)],
    ['llama.rope.dimension_count', gv.u32(HIDDEN / 2)],
    ['llama.rope.freq_base', gv.f32(10000)],
    ['llama.attention.layer_norm_rms_epsilon', gv.f32(1e-5)],
    ['llama.vocab_size', gv.u32(n)],
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str(options.pre)],
    ['tokenizer.ggml.tokens', gv.strings(vocab.tokens)],
    ['tokenizer.ggml.token_type', gv.numbers('i32', vocab.types)],
    ['tokenizer.ggml.merges', gv.strings(vocab.merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(options.bosId)],
    ['tokenizer.ggml.eos_token_id', gv.u32(options.eosId)],
    ['tokenizer.ggml.padding_token_id', gv.u32(options.eosId)],
    ['tokenizer.ggml.add_bos_token', gv.bool(options.addBos)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
  ];
  const tensors: GgufTensorSpec[] = [
    { name: 'token_embd.weight', type: 'F32', shape: [n, HIDDEN] },
    { name: 'blk.0.attn_norm.weight', type: 'F32', shape: [HIDDEN] },
    { name: 'blk.0.attn_q.weight', type: 'F32', shape: [HIDDEN, HIDDEN] },
    { name: 'blk.0.attn_k.weight', type: 'F32', shape: [HIDDEN, HIDDEN] },
    { name: 'blk.0.attn_v.weight', type: 'F32', shape: [HIDDEN, HIDDEN] },
    { name: 'blk.0.attn_output.weight', type: 'F32', shape: [HIDDEN, HIDDEN] },
    { name: 'blk.0.ffn_norm.weight', type: 'F32', shape: [HIDDEN] },
    { name: 'blk.0.ffn_gate.weight', type: 'F32', shape: [FFN, HIDDEN] },
    { name: 'blk.0.ffn_up.weight', type: 'F32', shape: [FFN, HIDDEN] },
    { name: 'blk.0.ffn_down.weight', type: 'F32', shape: [HIDDEN, FFN] },
    { name: 'output_norm.weight', type: 'F32', shape: [HIDDEN] },
  ];
  await writeGguf(path, {
    metadata,
    tensors,
    data: (t, i) => randomF32(t.shape.reduce((a, b) => a * b, 1), 1234 + i),
  });
}

export interface LlamaCppTokens {
  /** Ids of each text, tokenized with special-token parsing (llama_tokenize's parse_special). */
  readonly ids: readonly number[][];
  readonly bos: number | null;
  /** Whether llama_tokenize's add_special would prepend BOS (tokenizer.ggml.add_bos_token). */
  readonly addsBos: boolean;
}

/** Loads the GGUF's vocabulary once and tokenizes every text with it. */
export async function llamaCppTokenizeAll(ggufPath: string, texts: readonly string[]): Promise<LlamaCppTokens> {
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.error,
  });
  try {
    // Only the vocabulary is needed to tokenize; the tensors are there so the file is a full model.
    const model = await llama.loadModel({ modelPath: ggufPath, vocabOnly: true });
    try {
      const ids = texts.map((text) => [...model.tokenize(text, true)].map((t: Token) => t as number));
      return { ids, bos: model.tokens.bos, addsBos: model.tokens.shouldPrependBosToken };
    } finally {
      await model.dispose();
    }
  } finally {
    await llama.dispose();
  }
}
