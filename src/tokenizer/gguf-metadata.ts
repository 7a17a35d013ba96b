// The tokenizer part of a GGUF file's metadata (the `tokenizer.*` keys llama.cpp's converter
// writes, plus the few `general.*` keys the text layer uses), read and validated once. Every
// problem is a TokenizerFileError naming the file and the key.
import type { GgufValue } from '../formats/gguf-types.js';
import { TokenizerFileError } from './errors.js';

/** llama_token_type as gguf-py writes it into tokenizer.ggml.token_type. */
export const GGUF_TOKEN_TYPE = { normal: 1, unknown: 2, control: 3, userDefined: 4, unused: 5, byte: 6 } as const;

/** `gpt2`: byte-level BPE with merges; `llama`: SentencePiece BPE with scores. */
export type GgufTokenizerModel = 'gpt2' | 'llama';

export interface GgufSpecialIds {
  readonly bos: number | undefined;
  readonly eos: number | undefined;
  readonly eot: number | undefined;
  readonly eom: number | undefined;
  readonly pad: number | undefined;
  readonly unk: number | undefined;
}

export interface GgufSamplingDefaults {
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly minP: number | undefined;
  readonly repetitionPenalty: number | undefined;
}

export interface GgufVocabulary {
  readonly path: string;
  readonly model: GgufTokenizerModel;
  /** tokenizer.ggml.pre as written; undefined when the key is absent */
  readonly pre: string | undefined;
  readonly tokens: readonly string[];
  /** one GGUF_TOKEN_TYPE per token (all normal when the file has no token_type) */
  readonly types: readonly number[];
  /** `gpt2` only: "left right" strings, highest priority first */
  readonly merges: readonly string[];
  /** `llama` only: one score per token (higher merges first) */
  readonly scores: readonly number[];
  readonly ids: GgufSpecialIds;
  readonly addBos: boolean | undefined;
  readonly addEos: boolean | undefined;
  readonly addSpacePrefix: boolean | undefined;
  /** tokenizer.chat_template as "default", tokenizer.chat_template.NAME by NAME */
  readonly chatTemplates: ReadonlyMap<string, string>;
  readonly architecture: string | undefined;
  readonly contextLength: number | undefined;
  readonly sampling: GgufSamplingDefaults;
}

type Meta = ReadonlyMap<string, GgufValue>;

const KEY = {
  model: 'tokenizer.ggml.model',
  pre: 'tokenizer.ggml.pre',
  tokens: 'tokenizer.ggml.tokens',
  types: 'tokenizer.ggml.token_type',
  merges: 'tokenizer.ggml.merges',
  scores: 'tokenizer.ggml.scores',
  template: 'tokenizer.chat_template',
} as const;

const SUPPORTED_MODELS: readonly GgufTokenizerModel[] = ['gpt2', 'llama'];

class Reader {
  constructor(
    readonly path: string,
    readonly meta: Meta,
  ) {}

  fail(key: string, detail: string): never {
    throw new TokenizerFileError(this.path, 'invalid-value', detail, key);
  }

  string(key: string): string | undefined {
    const v = this.meta.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'string') this.fail(key, `expected a string, found ${describe(v)}`);
    return v.value;
  }

  bool(key: string): boolean | undefined {
    const v = this.meta.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'bool') this.fail(key, `expected a bool, found ${describe(v)}`);
    return v.value;
  }

  number(key: string): number | undefined {
    const v = this.meta.get(key);
    if (v === undefined) return undefined;
    switch (v.type) {
      case 'u64':
      case 'i64':
        return Number(v.value);
      case 'string':
      case 'bool':
      case 'array':
        return this.fail(key, `expected a number, found ${describe(v)}`);
      default:
        return v.value;
    }
  }

  strings(key: string): readonly string[] | undefined {
    const v = this.meta.get(key);
    if (v === undefined) return undefined;
    if (v.type !== 'array' || v.itemType !== 'string') this.fail(key, `expected an array of strings, found ${describe(v)}`);
    return v.value;
  }

  numbers(key: string): readonly number[] | undefined {
    const v = this.meta.get(key);
    if (v === undefined) return undefined;
    if (v.type === 'array') {
      switch (v.itemType) {
        case 'string':
        case 'bool':
        case 'array':
          break;
        case 'u64':
        case 'i64':
          return v.value.map(Number);
        default:
          return v.value;
      }
    }
    return this.fail(key, `expected an array of numbers, found ${describe(v)}`);
  }

  tokenId(key: string, vocabSize: number, fallback?: number): number | undefined {
    const id = this.number(key);
    if (id === undefined) return fallback;
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) this.fail(key, `token id ${id} is outside the vocabulary of ${vocabSize} tokens`);
    return id;
  }
}

function describe(v: GgufValue): string {
  return v.type === 'array' ? `array of ${v.itemType}` : v.type;
}

/** Reads and checks the tokenizer metadata of a GGUF file (`path` labels errors). */
export function readGgufVocabulary(path: string, meta: Meta): GgufVocabulary {
  const r: Reader = new Reader(path, meta);
  const modelName = r.string(KEY.model);
  if (modelName === undefined) r.fail(KEY.model, 'missing: the file has no tokenizer (text commands need one)');
  if (!(SUPPORTED_MODELS as readonly string[]).includes(modelName)) {
    r.fail(KEY.model, `unknown tokenizer model ${JSON.stringify(modelName)} (supported: ${SUPPORTED_MODELS.join(', ')})`);
  }
  const model = modelName as GgufTokenizerModel;
  const tokens = r.strings(KEY.tokens) ?? r.fail(KEY.tokens, 'missing: the file has no vocabulary');
  if (tokens.length === 0) r.fail(KEY.tokens, 'the vocabulary is empty');
  const n = tokens.length;
  const types = r.numbers(KEY.types);
  if (types !== undefined && types.length !== n) r.fail(KEY.types, `${types.length} token types for ${n} tokens (${KEY.tokens})`);
  const merges = r.strings(KEY.merges);
  if (model === 'gpt2' && merges === undefined) r.fail(KEY.merges, 'missing: a gpt2 (byte-level BPE) tokenizer needs its merges');
  const scores = r.numbers(KEY.scores);
  if (scores !== undefined && scores.length !== n) r.fail(KEY.scores, `${scores.length} scores for ${n} tokens (${KEY.tokens})`);
  if (model === 'llama' && scores === undefined) r.fail(KEY.scores, 'missing: a llama (SentencePiece) tokenizer needs its token scores');

  // SentencePiece vocabularies default to <unk> = 0, <s> = 1, </s> = 2, as llama.cpp assumes.
  const spm = model === 'llama';
  const id = (name: string, fallback?: number) => r.tokenId(`tokenizer.ggml.${name}`, n, fallback !== undefined && fallback < n ? fallback : undefined);
  const ids: GgufSpecialIds = {
    bos: id('bos_token_id', spm ? 1 : undefined),
    eos: id('eos_token_id', spm ? 2 : undefined),
    eot: id('eot_token_id'),
    eom: id('eom_token_id'),
    pad: id('padding_token_id'),
    unk: id('unknown_token_id', spm ? 0 : undefined),
  };
  const architecture = r.string('general.architecture');
  return Object.freeze({
    path,
    model,
    pre: r.string(KEY.pre),
    tokens,
    types: types ?? new Array<number>(n).fill(GGUF_TOKEN_TYPE.normal),
    merges: merges ?? [],
    scores: scores ?? [],
    ids: Object.freeze(ids),
    addBos: r.bool('tokenizer.ggml.add_bos_token'),
    addEos: r.bool('tokenizer.ggml.add_eos_token'),
    addSpacePrefix: r.bool('tokenizer.ggml.add_space_prefix'),
    chatTemplates: chatTemplates(r),
    architecture,
    contextLength: architecture === undefined ? undefined : r.number(`${architecture}.context_length`),
    sampling: Object.freeze({
      temperature: r.number('general.sampling.temp'),
      topP: r.number('general.sampling.top_p'),
      topK: r.number('general.sampling.top_k'),
      minP: r.number('general.sampling.min_p'),
      repetitionPenalty: r.number('general.sampling.penalty_repeat'),
    }),
  });
}

// gguf-py writes a named template (tool_use, ...) as tokenizer.chat_template.NAME.
function chatTemplates(r: Reader): ReadonlyMap<string, string> {
  const out = new Map<string, string>();
  for (const key of r.meta.keys()) {
    if (key !== KEY.template && !key.startsWith(`${KEY.template}.`)) continue;
    const template = r.string(key);
    if (template !== undefined) out.set(key === KEY.template ? 'default' : key.slice(KEY.template.length + 1), template);
  }
  return out;
}
