// A GGUF vocabulary as the tokenizer.json @huggingface/tokenizers reads: the reverse of what
// convert_hf_to_gguf.py does, built so that the ids equal llama.cpp's own tokenizer on the same
// file (not the original tokenizer.json's, where the two differ: llama.cpp has no normalizer, so a
// Qwen vocabulary's NFC step is not applied here either).
//
// * gpt2: byte-level BPE. NORMAL / UNUSED / BYTE tokens form the BPE vocabulary with the file's
//   merges; CONTROL tokens become special added tokens and USER_DEFINED ones plain added tokens
//   (both are split out of the text before BPE, as llama.cpp's tokenizer_st_partition does with
//   special-token parsing on); the pre-tokenizer is llama.cpp's regex list for `pre`.
// * llama: SentencePiece BPE. llama.cpp prefixes each text fragment with a space (the first one and
//   every one after a special token), writes spaces as ▁, then merges adjacent symbols into the
//   vocabulary entry of highest score, falling back to <0xXX> byte tokens. That is a BPE with
//   byte_fallback whose merges are every split of a vocabulary entry into two entries, ranked by
//   the entry's score — transformers' SentencePieceExtractor — behind a Prepend("▁") + Replace(" ",
//   "▁") normalizer, which @huggingface/tokenizers applies to each fragment between added tokens.
import { GGUF_TOKEN_TYPE } from './gguf-metadata.js';
import type { GgufVocabulary } from './gguf-metadata.js';
import type { PreTokenizerSpec } from './gguf-pre-tokenizers.js';
import type { JsonObject } from './model-files.js';

const SPM_SPACE = '\u2581';

interface AddedTokenJson {
  readonly id: number;
  readonly content: string;
  readonly single_word: false;
  readonly lstrip: false;
  readonly rstrip: false;
  readonly normalized: false;
  readonly special: boolean;
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false } as const;

function isAdded(type: number | undefined): boolean {
  return type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined;
}

function addedTokens(v: GgufVocabulary): AddedTokenJson[] {
  const out: AddedTokenJson[] = [];
  v.types.forEach((type, id) => {
    if (!isAdded(type)) return;
    out.push({ id, content: v.tokens[id]!, single_word: false, lstrip: false, rstrip: false, normalized: false, special: type === GGUF_TOKEN_TYPE.control });
  });
  return out;
}

/** The BPE vocabulary: every token that is not an added token, by text. */
function bpeVocab(v: GgufVocabulary): Record<string, number> {
  // fromEntries defines own properties, so a token spelled "__proto__" is an entry like any other
  return Object.fromEntries(v.tokens.flatMap((t, id) => (isAdded(v.types[id]) ? [] : [[t, id] as const])));
}

/** llama.cpp splits a merge at its first space after the first character. */
function mergePairs(merges: readonly string[]): Array<[string, string]> {
  return merges.map((m) => {
    const at = m.indexOf(' ', 1);
    return at < 0 ? [m, ''] : [m.slice(0, at), m.slice(at + 1)];
  });
}

export function gpt2TokenizerJson(v: GgufVocabulary, pre: PreTokenizerSpec): JsonObject {
  return {
    version: '1.0',
    added_tokens: addedTokens(v),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        ...pre.regexes.map((regex) => ({ type: 'Split', pattern: { Regex: regex }, behavior: 'Isolated', invert: false })),
        BYTE_LEVEL,
      ],
    },
    post_processor: null,
    decoder: BYTE_LEVEL,
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: pre.ignoreMerges,
      vocab: bpeVocab(v),
      merges: mergePairs(v.merges),
    },
  };
}

/** transformers' SentencePieceExtractor: each two-entry split of each entry, by the entry's score. */
function spmMerges(v: GgufVocabulary, vocab: Readonly<Record<string, number>>): Array<[string, string]> {
  const ranked: Array<{ left: string; right: string; score: number; leftId: number; rightId: number; id: number }> = [];
  const has = (s: string): number | undefined => (Object.hasOwn(vocab, s) ? vocab[s] : undefined);
  v.tokens.forEach((piece, id) => {
    const type = v.types[id];
    if (type === GGUF_TOKEN_TYPE.byte || type === GGUF_TOKEN_TYPE.unused || isAdded(type)) return;
    const chars = Array.from(piece);
    for (let i = 1; i < chars.length; i++) {
      const left = chars.slice(0, i).join('');
      const right = chars.slice(i).join('');
      const leftId = has(left);
      const rightId = has(right);
      if (leftId !== undefined && rightId !== undefined) ranked.push({ left, right, score: v.scores[id] ?? 0, leftId, rightId, id });
    }
  });
  // Highest score first; equal scores keep vocabulary order, then the split's ids, as the extractor does.
  ranked.sort((a, b) => b.score - a.score || a.id - b.id || a.leftId - b.leftId || a.rightId - b.rightId);
  return ranked.map((m) => [m.left, m.right]);
}

export function llamaTokenizerJson(v: GgufVocabulary, addSpacePrefix: boolean): JsonObject {
  const vocab = bpeVocab(v);
  const unk = v.ids.unk === undefined ? null : v.tokens[v.ids.unk] ?? null;
  const replaceSpace = { type: 'Replace', pattern: { String: ' ' }, content: SPM_SPACE };
  return {
    version: '1.0',
    added_tokens: addedTokens(v),
    normalizer: addSpacePrefix ? { type: 'Sequence', normalizers: [{ type: 'Prepend', prepend: SPM_SPACE }, replaceSpace] } : replaceSpace,
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: SPM_SPACE }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        ...(addSpacePrefix ? [{ type: 'Strip', content: ' ', start: 1, stop: 0 }] : []),
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: unk,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      ignore_merges: false,
      vocab,
      merges: spmMerges(v, vocab),
    },
  };
}
