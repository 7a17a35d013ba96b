// Text <-> token ids for one model directory, backed by @huggingface/tokenizers (pure JS, reads
// tokenizer.json as-is). That library ignores tokenizer_config.json's add_bos_token, so BOS/EOS
// insertion is done here; it reproduces DeepSeek's golden token vector exactly (see tests).
import { Tokenizer as HfTokenizer } from '@huggingface/tokenizers';
import { join } from 'node:path';
import { TokenizerFileError } from './errors.js';
import { readJsonObject, readModelFiles } from './model-files.js';
import type { GenerationDefaults, ModelFiles, ModelInfo, TokenizerSettings } from './model-files.js';

export interface EncodeOptions {
  /** Add BOS/EOS as tokenizer_config.json says (HF default: true). Chat prompts pass false. */
  readonly addSpecialTokens?: boolean;
}

export interface DecodeOptions {
  /** Drop tokens marked `special` in tokenizer.json (BOS, EOS, pad, ...). Default false. */
  readonly skipSpecialTokens?: boolean;
  /** Special ids kept even when skipping, e.g. markers a reasoning or tool parser must see. */
  readonly keepIds?: ReadonlySet<number>;
}

export interface Tokenizer {
  encode(text: string, options?: EncodeOptions): number[];
  decode(ids: readonly number[], options?: DecodeOptions): string;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** One past the largest token id (the model's logit rows may be wider). */
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  /** Every id that ends generation: tokenizer_config eos_token plus generation_config eos_token_id. */
  readonly eosIds: readonly number[];
  /** Ids of added tokens with `special: true`. */
  readonly specialIds: ReadonlySet<number>;
}

/** A tokenizer together with the model-directory metadata that came with it. */
export interface LoadedTokenizer {
  readonly dir: string;
  readonly tokenizer: Tokenizer;
  readonly config: TokenizerSettings;
  readonly generation: GenerationDefaults;
  readonly model: ModelInfo;
}

/** Loads `tokenizer.json` (required) plus the optional config files from a model directory. */
export async function loadTokenizer(dir: string): Promise<LoadedTokenizer> {
  const tokenizerPath = join(dir, 'tokenizer.json');
  const [tokenizerJson, files] = await Promise.all([readJsonObject(tokenizerPath, true), readModelFiles(dir)]);
  const tokenizer = createTokenizer(tokenizerPath, tokenizerJson, files);
  return Object.freeze({ dir, tokenizer, config: files.tokenizerConfig, generation: files.generation, model: files.model });
}

/** Builds a tokenizer from already-parsed JSON; `tokenizerPath` only labels errors. */
export function createTokenizer(tokenizerPath: string, tokenizerJson: Readonly<Record<string, unknown>>, files: ModelFiles): Tokenizer {
  if (typeof tokenizerJson['model'] !== 'object' || tokenizerJson['model'] === null) {
    throw new TokenizerFileError(tokenizerPath, 'invalid-value', 'missing tokenizer model definition', 'model');
  }
  let hf: HfTokenizer;
  try {
    hf = new HfTokenizer(tokenizerJson, files.tokenizerConfig.raw);
  } catch (err) {
    throw new TokenizerFileError(tokenizerPath, 'unsupported', `cannot build tokenizer: ${(err as Error).message}`, undefined, err);
  }
  return new HfBackedTokenizer(hf, tokenizerPath, files);
}

class HfBackedTokenizer implements Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number | undefined;
  readonly eosIds: readonly number[];
  readonly specialIds: ReadonlySet<number>;
  readonly #hf: HfTokenizer;
  readonly #addBos: boolean;
  readonly #addEos: boolean;
  readonly #cleanUp: boolean;
  readonly #bosText: string | undefined;

  constructor(hf: HfTokenizer, tokenizerPath: string, files: ModelFiles) {
    this.#hf = hf;
    const cfg = files.tokenizerConfig;
    let maxId = -1;
    for (const id of hf.get_vocab(true).values()) if (id > maxId) maxId = id;
    this.vocabSize = maxId + 1;

    const special = new Set<number>();
    for (const [id, token] of hf.get_added_tokens_decoder()) if (token.special) special.add(id);
    this.specialIds = special;

    this.bosId = this.#resolve(cfg.bosToken, cfg.path, 'bos_token') ?? files.generation.bosTokenId;
    this.#bosText = this.bosId === undefined ? undefined : hf.id_to_token(this.bosId);
    const eos = new Set<number>();
    const eosFromConfig = this.#resolve(cfg.eosToken, cfg.path, 'eos_token');
    if (eosFromConfig !== undefined) eos.add(eosFromConfig);
    for (const id of files.generation.eosTokenIds) {
      if (id >= this.vocabSize) {
        throw new TokenizerFileError(files.generation.path ?? 'generation_config.json', 'invalid-value', `token id ${id} is outside the vocabulary of ${tokenizerPath}`, 'eos_token_id');
      }
      eos.add(id);
    }
    this.eosIds = Object.freeze([...eos]);
    this.#addBos = cfg.addBosToken && this.bosId !== undefined;
    this.#addEos = cfg.addEosToken && eosFromConfig !== undefined;
    this.#cleanUp = cfg.cleanUpTokenizationSpaces;
  }

  #resolve(token: string | undefined, path: string, key: string): number | undefined {
    if (token === undefined) return undefined;
    const id = this.#hf.token_to_id(token);
    if (id === undefined) throw new TokenizerFileError(path, 'invalid-value', `token ${JSON.stringify(token)} is not in tokenizer.json`, key);
    return id;
  }

  encode(text: string, options?: EncodeOptions): number[] {
    const addSpecial = options?.addSpecialTokens ?? true;
    const ids = this.#hf.encode(text, { add_special_tokens: addSpecial }).ids;
    if (!addSpecial) return ids;
    // The post-processor may already add BOS (Llama-3 style TemplateProcessing). BOS is never
    // doubled: not by ours on top of it, and not when the text spells BOS out (a rendered R1 chat
    // prompt sent as a raw prompt), where transformers keeps the post-processor's second one.
    const bos = this.bosId;
    const spelled = this.#leadingBosInText(text);
    if (spelled > 0 && leadingCount(ids, bos) > spelled) ids.shift();
    if (this.#addBos && ids[0] !== bos) ids.unshift(bos as number);
    const eos = this.eosIds[0];
    if (this.#addEos && eos !== undefined && ids[ids.length - 1] !== eos) ids.push(eos);
    return ids;
  }

  #leadingBosInText(text: string): number {
    const bosText = this.#bosText;
    if (bosText === undefined || bosText === '') return 0;
    let n = 0;
    while (text.startsWith(bosText, n * bosText.length)) n++;
    return n;
  }

  decode(ids: readonly number[], options?: DecodeOptions): string {
    let list = ids as number[];
    if (options?.skipSpecialTokens === true) {
      const keep = options.keepIds;
      list = ids.filter((id) => !this.specialIds.has(id) || (keep !== undefined && keep.has(id)));
    }
    // the library throws on an empty list
    if (list.length === 0) return '';
    return this.#hf.decode(list, { skip_special_tokens: false, clean_up_tokenization_spaces: this.#cleanUp });
  }

  tokenToId(token: string): number | undefined {
    return this.#hf.token_to_id(token);
  }

  idToToken(id: number): string | undefined {
    return this.#hf.id_to_token(id);
  }
}

function leadingCount(ids: readonly number[], id: number | undefined): number {
  let n = 0;
  while (id !== undefined && ids[n] === id) n++;
  return n;
}
