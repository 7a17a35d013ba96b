// Test support: GGUF vocabularies beyond the R1 distills' as convert_hf_to_gguf.py writes them —
// a distill vocabulary cut to its first BPE tokens (fast to load, for comparing pre-tokenizers
// with llama.cpp), a small SentencePiece vocabulary trained here on a text corpus (tokenizer.ggml.model
// 'llama', with scores and <0xXX> byte tokens), the tokenizer keys of a distill flavor for a
// converted model, and llama.cpp's ids for many vocabulary files from one llama.cpp instance.
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { gv } from '../../src/formats/gguf-types.js';
import type { GgufValue } from '../../src/formats/gguf-types.js';
import { DISTILL_IDS, LLAMA_CPP_PRE, distillTokenizerConfig, distillTokenizerJson } from './distill-tokenizers.js';
import type { DistillFlavor, TokenizerJson } from './distill-tokenizers.js';
import { rewriteGgufMetadata } from './gguf-rewrite.js';
import { ggufVocab, writeVocabModel } from './llama-cpp-tokenizer.js';
import type { GgufVocab, LlamaCppTokens } from './llama-cpp-tokenizer.js';

const TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, byte: 6 } as const;

/**
 * The first `keep` BPE ids of a tokenizer.json with the merges among them, and its added tokens
 * renumbered to follow (byte-level BPE ids are in merge order, so the cut is a working BPE).
 */
export function pruneTokenizer(t: TokenizerJson, keep: number): TokenizerJson {
  const vocab: Record<string, number> = Object.fromEntries(Object.entries(t.model.vocab).filter(([, id]) => id < keep));
  const pair = (m: string | [string, string]): [string, string] => (typeof m === 'string' ? (m.split(' ') as [string, string]) : m);
  const merges = t.model.merges.filter((m) => {
    const [a, b] = pair(m);
    return Object.hasOwn(vocab, a) && Object.hasOwn(vocab, b) && Object.hasOwn(vocab, a + b);
  });
  const added = [...t.added_tokens].sort((a, b) => a.id - b.id).map((a, i) => ({ ...a, id: keep + i }));
  return { ...t, added_tokens: added, model: { ...t.model, vocab, merges } };
}

export interface SpmVocab {
  readonly tokens: readonly string[];
  readonly types: readonly number[];
  readonly scores: readonly number[];
}

/**
 * A SentencePiece-style BPE vocabulary trained on `texts`: <unk> <s> </s>, 256 byte tokens, the
 * `control` and `userDefined` extras, every character seen at least twice (the rest need byte
 * fallback), then `merges` merged pieces, scored -1, -2, ... in the order they were learned.
 */
export function trainSpmVocab(texts: readonly string[], merges: number, extras: { control: readonly string[]; userDefined: readonly string[] }): SpmVocab {
  const words = new Map<string, number>();
  for (const text of texts) {
    for (const w of ('\u2581' + text.replaceAll(' ', '\u2581')).match(/\u2581[^\u2581]*|[^\u2581]+/gu) ?? []) words.set(w, (words.get(w) ?? 0) + 1);
  }
  const charCount = new Map<string, number>();
  for (const [w, n] of words) for (const c of w) charCount.set(c, (charCount.get(c) ?? 0) + n);
  const chars = [...charCount].filter(([, n]) => n >= 2).map(([c]) => c).sort();
  const known = new Set(chars);
  const split = [...words].map(([w, n]) => ({ symbols: Array.from(w), n }));
  const learned: string[] = [];
  for (let k = 0; k < merges; k++) {
    const counts = new Map<string, number>();
    for (const { symbols, n } of split) {
      for (let i = 0; i + 1 < symbols.length; i++) {
        const a = symbols[i]!;
        const b = symbols[i + 1]!;
        if (!known.has(a) || !known.has(b)) continue;
        const key = `${a}\u0000${b}`;
        counts.set(key, (counts.get(key) ?? 0) + n);
      }
    }
    let best: string | undefined;
    let bestCount = 1;
    for (const [key, n] of counts) if (n > bestCount || (n === bestCount && best !== undefined && key < best)) [best, bestCount] = [key, n];
    if (best === undefined) break;
    const [a, b] = best.split('\u0000') as [string, string];
    const merged = a + b;
    if (!known.has(merged)) learned.push(merged);
    known.add(merged);
    for (const w of split) {
      const out: string[] = [];
      for (let i = 0; i < w.symbols.length; i++) {
        if (w.symbols[i] === a && w.symbols[i + 1] === b) {
          out.push(merged);
          i++;
        } else out.push(w.symbols[i]!);
      }
      w.symbols = out;
    }
  }
  const tokens: string[] = ['<unk>', '<s>', '</s>'];
  const types: number[] = [TYPE.unknown, TYPE.control, TYPE.control];
  const scores: number[] = [0, 0, 0];
  const add = (token: string, type: number, score: number): void => {
    tokens.push(token);
    types.push(type);
    scores.push(score);
  };
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, TYPE.byte, 0);
  for (const t of extras.control) add(t, TYPE.control, 0);
  for (const t of extras.userDefined) add(t, TYPE.userDefined, 0);
  chars.forEach((c, i) => add(c, TYPE.normal, -(merges + 1 + i)));
  learned.forEach((p, i) => add(p, TYPE.normal, -(i + 1)));
  return { tokens, types, scores };
}

/** Writes a vocabulary-only llama model whose tokenizer is the SentencePiece vocabulary `v`. */
export async function writeSpmVocabModel(path: string, v: SpmVocab, options: { readonly addSpacePrefix?: boolean } = {}): Promise<void> {
  const vocab: GgufVocab = { tokens: v.tokens, types: v.types, merges: [] };
  await writeVocabModel(path, vocab, { pre: 'default', bosId: 1, eosId: 2, addBos: true });
  await rewriteGgufMetadata(path, path, (m) => {
    m.set('tokenizer.ggml.model', gv.str('llama'));
    m.delete('tokenizer.ggml.pre');
    m.delete('tokenizer.ggml.merges');
    m.set('tokenizer.ggml.scores', gv.numbers('f32', v.scores));
    m.set('tokenizer.ggml.unknown_token_id', gv.u32(0));
    if (options.addSpacePrefix !== undefined) m.set('tokenizer.ggml.add_space_prefix', gv.bool(options.addSpacePrefix));
  });
}

/**
 * The tokenizer keys convert_hf_to_gguf.py writes for a distill flavor (its vocabulary, `pre`,
 * BOS/EOS/pad ids, add_bos_token and the Hugging Face chat template), the token list padded with
 * [PAD<id>] entries up to `vocabSize` as the converter pads it to config.json's vocab_size.
 */
export async function distillGgufTokenizer(flavor: DistillFlavor, vocabSize?: number): Promise<Array<[string, GgufValue]>> {
  const [tokenizer, config] = await Promise.all([distillTokenizerJson(flavor), distillTokenizerConfig(flavor)]);
  const v = ggufVocab(tokenizer);
  const tokens = [...v.tokens];
  const types = [...v.types];
  for (let id = tokens.length; id < (vocabSize ?? 0); id++) {
    tokens.push(`[PAD${id}]`);
    types.push(5);
  }
  const ids = DISTILL_IDS[flavor];
  return [
    ['tokenizer.ggml.model', gv.str('gpt2')],
    ['tokenizer.ggml.pre', gv.str(LLAMA_CPP_PRE[flavor])],
    ['tokenizer.ggml.tokens', gv.strings(tokens)],
    ['tokenizer.ggml.token_type', gv.numbers('i32', types)],
    ['tokenizer.ggml.merges', gv.strings(v.merges)],
    ['tokenizer.ggml.bos_token_id', gv.u32(ids.bos)],
    ['tokenizer.ggml.eos_token_id', gv.u32(ids.eos)],
    ['tokenizer.ggml.padding_token_id', gv.u32(ids.eos)],
    ['tokenizer.ggml.add_bos_token', gv.bool(config['add_bos_token'] === true)],
    ['tokenizer.ggml.add_eos_token', gv.bool(false)],
    ['tokenizer.chat_template', gv.str(String(config['chat_template']))],
  ];
}

/** Replaces every tokenizer.* key of a GGUF file (in place) with a distill flavor's. */
export async function useDistillTokenizer(path: string, flavor: DistillFlavor, vocabSize?: number): Promise<void> {
  const entries = await distillGgufTokenizer(flavor, vocabSize);
  await rewriteGgufMetadata(path, path, (m) => {
    for (const key of [...m.keys()]) if (key.startsWith('tokenizer.')) m.delete(key);
    for (const [key, value] of entries) m.set(key, value);
  });
}

/** llama.cpp's ids (special tokens parsed, none added) of every text, and its BOS, for each vocabulary file. */
export async function llamaCppTokenizeFiles(paths: readonly string[], texts: readonly string[]): Promise<LlamaCppTokens[]> {
  const llama = await getLlama({ gpu: false, build: 'never', skipDownload: true, usePrebuiltBinaries: true, progressLogs: false, logLevel: LlamaLogLevel.error });
  try {
    const out: LlamaCppTokens[] = [];
    for (const path of paths) {
      // Only the vocabulary is read; loading the models one after another keeps one in memory.
      const model = await llama.loadModel({ modelPath: path, vocabOnly: true });
      try {
        const ids = texts.map((text) => [...model.tokenize(text, true)].map((t: Token) => t as number));
        out.push({ ids, bos: model.tokens.bos, addsBos: model.tokens.shouldPrependBosToken });
      } finally {
        await model.dispose();
      }
    }
    return out;
  } finally {
    await llama.dispose();
  }
}
