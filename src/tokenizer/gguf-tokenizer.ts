// A GGUF file's own tokenizer and chat template (its `tokenizer.*` metadata) as the same
// LoadedTokenizer a Hugging Face directory gives: the vocabulary becomes an in-memory tokenizer.json,
// the special ids and flags an in-memory tokenizer_config / generation_config, so encoding,
// decoding, BOS/EOS handling and the Jinja chat path are shared with Hugging Face models.
//
// Pre-tokenizer names (`tokenizer.ggml.pre`) follow llama.cpp: a missing key means llama.cpp's
// 'default' with a warning (llama.cpp does the same); a name Tessera does not know is an error
// naming the key (llama.cpp refuses names it does not know too), since guessing would give ids the
// model was not trained on.
import type { GgufValue } from '../formats/gguf-types.js';
import { TokenizerFileError } from './errors.js';
import { GGUF_TOKEN_TYPE, readGgufVocabulary } from './gguf-metadata.js';
import type { GgufVocabulary } from './gguf-metadata.js';
import { DEFAULT_PRE_TOKENIZER, KNOWN_PRE_TOKENIZERS, preTokenizerFor } from './gguf-pre-tokenizers.js';
import type { PreTokenizerSpec } from './gguf-pre-tokenizers.js';
import { gpt2TokenizerJson, llamaTokenizerJson } from './gguf-tokenizer-json.js';
import type { ChatTemplateSource, GenerationDefaults, ModelInfo, TokenizerSettings } from './model-files.js';
import { createTokenizer } from './tokenizer.js';
import type { LoadedTokenizer } from './tokenizer.js';

export interface GgufTokenizerOptions {
  /** Where a missing pre-tokenizer is reported (default: nowhere). */
  readonly warn?: (message: string) => void;
}

/**
 * Token texts llama.cpp treats as end of generation (llama_vocab::impl::load, "maintain a list of
 * tokens that cause end-of-generation"). llama.cpp matches them in any token, turning e.g. Qwen's
 * ordinary BPE token "</s>" into a stop token (with a "probably a bug in the model" warning); here
 * only control and user-defined tokens count, so text that spells such a marker is still text.
 */
const EOG_TEXTS: ReadonlySet<string> = new Set([
  '<|eot_id|>', '<|im_end|>', '<|end|>', '<|return|>', '<|call|>', '<|flush|>', '<|calls|>', '<end_of_turn>',
  '<|endoftext|>', '</s>', '<|eom_id|>', '<EOT>', '_<EOT>', '[EOT]', '[EOS]', '<|end_of_text|>', '<end_of_utterance>',
  '<eos>', '<turn|>', '<|tool_response>', '<｜end▁of▁sentence｜>', '[e~[',
]);

/** Builds the tokenizer of a GGUF file from its metadata; `path` labels errors and is the tokenizer's `dir`. */
export function createGgufTokenizer(path: string, metadata: ReadonlyMap<string, GgufValue>, options: GgufTokenizerOptions = {}): LoadedTokenizer {
  const v = withUniqueTokens(readGgufVocabulary(path, metadata));
  const pre = v.model === 'gpt2' ? preTokenizer(v, options) : undefined;
  const json = v.model === 'gpt2' ? gpt2TokenizerJson(v, pre ?? DEFAULT_PRE_TOKENIZER) : llamaTokenizerJson(v, v.addSpacePrefix ?? true);
  // llama.cpp: add_bos defaults to true for SentencePiece and for the Llama 3 pre-tokenizers.
  const addBos = v.addBos ?? (v.model === 'llama' || (pre?.addBos ?? false));
  const text = (id: number | undefined): string | undefined => (id === undefined ? undefined : v.tokens[id]);
  const config = settings(v, {
    bos_token: text(v.ids.bos),
    eos_token: text(v.ids.eos),
    pad_token: text(v.ids.pad),
    unk_token: text(v.ids.unk),
    add_bos_token: addBos,
    add_eos_token: v.addEos ?? false,
    clean_up_tokenization_spaces: false,
  });
  const generation: GenerationDefaults = Object.freeze({
    path: undefined,
    temperature: v.sampling.temperature,
    topP: v.sampling.topP,
    topK: v.sampling.topK,
    minP: v.sampling.minP,
    repetitionPenalty: v.sampling.repetitionPenalty,
    doSample: undefined,
    maxNewTokens: undefined,
    bosTokenId: v.ids.bos,
    eosTokenIds: Object.freeze(endOfGeneration(v)),
    padTokenId: v.ids.pad,
  });
  const model: ModelInfo = Object.freeze({ path, modelType: v.architecture, architectures: Object.freeze([]) });
  const tokenizer = createTokenizer(path, json, { tokenizerConfig: config, generation, model });
  return Object.freeze({ dir: path, tokenizer, config, generation, model });
}

function preTokenizer(v: GgufVocabulary, options: GgufTokenizerOptions): PreTokenizerSpec {
  if (v.pre === undefined) {
    options.warn?.(`${v.path}: tokenizer.ggml.pre is missing; using llama.cpp's 'default' pre-tokenizer as llama.cpp does (generation quality may be degraded; consider regenerating the GGUF file)`);
    return DEFAULT_PRE_TOKENIZER;
  }
  const spec = preTokenizerFor(v.pre);
  if (spec === undefined) {
    throw new TokenizerFileError(v.path, 'unsupported', `unknown pre-tokenizer ${JSON.stringify(v.pre)} (known: ${KNOWN_PRE_TOKENIZERS.join(', ')})`, 'tokenizer.ggml.pre');
  }
  return spec;
}

// llama.cpp renames empty tokens "[EMPTY_<id>]" and refuses a vocabulary with a repeated token.
function withUniqueTokens(v: GgufVocabulary): GgufVocabulary {
  const seen = new Map<string, number>();
  let renamed: string[] | null = null;
  v.tokens.forEach((t, id) => {
    const token = t === '' ? `[EMPTY_${id}]` : t;
    if (token !== t) (renamed ??= [...v.tokens])[id] = token;
    const first = seen.get(token);
    if (first !== undefined) throw new TokenizerFileError(v.path, 'invalid-value', `token ${JSON.stringify(token)} appears twice (ids ${first} and ${id})`, 'tokenizer.ggml.tokens');
    seen.set(token, id);
  });
  return renamed === null ? v : { ...v, tokens: renamed };
}

/** EOS, EOT and EOM, then every token llama.cpp ends generation at by its text. */
function endOfGeneration(v: GgufVocabulary): number[] {
  const ids = new Set<number>();
  for (const id of [v.ids.eos, v.ids.eot, v.ids.eom]) if (id !== undefined) ids.add(id);
  v.tokens.forEach((t, id) => {
    const type = v.types[id];
    if (EOG_TEXTS.has(t) && (type === GGUF_TOKEN_TYPE.control || type === GGUF_TOKEN_TYPE.userDefined)) ids.add(id);
  });
  // llama.cpp's gpt-oss workaround: with <|return|> and <|call|> present, <|end|> ends a message, not generation.
  const has = (t: string): boolean => v.tokens.includes(t);
  if ((has('<|return|>') && has('<|call|>')) || (has('<|calls|>') && has('<|flush|>'))) ids.delete(v.tokens.indexOf('<|end|>'));
  return [...ids];
}

function settings(v: GgufVocabulary, raw: Record<string, string | boolean | undefined>): TokenizerSettings {
  const templates = new Map<string, ChatTemplateSource>();
  for (const [name, template] of v.chatTemplates) {
    templates.set(name, { template, origin: `${v.path}#tokenizer.chat_template${name === 'default' ? '' : `.${name}`}` });
  }
  const str = (key: string): string | undefined => (typeof raw[key] === 'string' ? raw[key] : undefined);
  return Object.freeze({
    path: v.path,
    bosToken: str('bos_token'),
    eosToken: str('eos_token'),
    padToken: str('pad_token'),
    unkToken: str('unk_token'),
    addBosToken: raw['add_bos_token'] === true,
    addEosToken: raw['add_eos_token'] === true,
    cleanUpTokenizationSpaces: false,
    modelMaxLength: v.contextLength,
    chatTemplates: templates,
    raw: Object.fromEntries(Object.entries(raw).filter(([, x]) => x !== undefined)),
  });
}
