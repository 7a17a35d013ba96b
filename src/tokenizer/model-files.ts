// Reads and normalizes the small JSON files of a Hugging Face model directory that matter for
// text in/out: tokenizer_config.json, generation_config.json, config.json and chat_template.jinja.
// Everything is validated once here, so later stages can trust the frozen objects.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TokenizerFileError } from './errors.js';

export type JsonObject = Readonly<Record<string, unknown>>;

/** tokenizer_config.json, normalized. */
export interface TokenizerSettings {
  readonly path: string;
  readonly bosToken: string | undefined;
  readonly eosToken: string | undefined;
  readonly padToken: string | undefined;
  readonly unkToken: string | undefined;
  /** HF `add_bos_token`; absent means "the tokenizer.json post-processor decides". */
  readonly addBosToken: boolean;
  readonly addEosToken: boolean;
  /** Absent means false: cleanup rewrites " ," to "," which breaks incremental decoding. */
  readonly cleanUpTokenizationSpaces: boolean;
  readonly modelMaxLength: number | undefined;
  /** Named chat templates; a plain string template is stored as "default". */
  readonly chatTemplates: ReadonlyMap<string, ChatTemplateSource>;
  /** The raw object, handed to @huggingface/tokenizers which reads a few more keys itself. */
  readonly raw: JsonObject;
}

export interface ChatTemplateSource {
  readonly template: string;
  /** For error messages: file plus key. */
  readonly origin: string;
}

/** generation_config.json, normalized. Undefined fields were not set by the model. */
export interface GenerationDefaults {
  readonly path: string | undefined;
  readonly temperature: number | undefined;
  readonly topP: number | undefined;
  readonly topK: number | undefined;
  readonly minP: number | undefined;
  readonly repetitionPenalty: number | undefined;
  readonly doSample: boolean | undefined;
  readonly maxNewTokens: number | undefined;
  readonly bosTokenId: number | undefined;
  readonly eosTokenIds: readonly number[];
  readonly padTokenId: number | undefined;
}

/** The parts of config.json the tokenizer layer uses to pick a chat encoding. */
export interface ModelInfo {
  readonly path: string | undefined;
  readonly modelType: string | undefined;
  readonly architectures: readonly string[];
}

/** Reads a JSON object file; `undefined` when the file is absent and not required. */
export async function readJsonObject(path: string, required: true): Promise<JsonObject>;
export async function readJsonObject(path: string, required: false): Promise<JsonObject | undefined>;
export async function readJsonObject(path: string, required: boolean): Promise<JsonObject | undefined> {
  const text = await readTextFile(path, required);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new TokenizerFileError(path, 'invalid-json', `not valid JSON (${(err as Error).message})`, undefined, err);
  }
  if (!isObject(value)) throw new TokenizerFileError(path, 'invalid-json', 'top level must be a JSON object');
  return value;
}

export async function readTextFile(path: string, required: boolean): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      if (!required) return undefined;
      throw new TokenizerFileError(path, 'missing', 'file not found', undefined, err);
    }
    throw new TokenizerFileError(path, 'unreadable', `cannot read file (${code ?? String(err)})`, undefined, err);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** HF stores special tokens either as a string or as `{"__type": "AddedToken", "content": ...}`. */
function tokenContent(path: string, raw: JsonObject, key: string): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (isObject(value) && typeof value['content'] === 'string') return value['content'];
  throw new TokenizerFileError(path, 'invalid-value', 'expected a string or an object with "content"', key);
}

function optionalBoolean(path: string, raw: JsonObject, key: string): boolean | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean') throw new TokenizerFileError(path, 'invalid-value', 'expected true or false', key);
  return value;
}

function optionalNumber(path: string, raw: JsonObject, key: string, integer = false): number | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || (integer && !Number.isInteger(value))) {
    throw new TokenizerFileError(path, 'invalid-value', integer ? 'expected an integer' : 'expected a number', key);
  }
  return value;
}

function tokenIdList(path: string, raw: JsonObject, key: string): number[] {
  const value = raw[key];
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  for (const id of list) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFileError(path, 'invalid-value', 'expected a token id or a list of token ids', key);
    }
  }
  return list as number[];
}

export function parseTokenizerSettings(path: string, raw: JsonObject, templateFile?: ChatTemplateSource): TokenizerSettings {
  const templates = new Map<string, ChatTemplateSource>();
  const rawTemplate = raw['chat_template'];
  if (typeof rawTemplate === 'string') {
    templates.set('default', { template: rawTemplate, origin: `${path}#chat_template` });
  } else if (Array.isArray(rawTemplate)) {
    rawTemplate.forEach((entry: unknown, i) => {
      if (!isObject(entry) || typeof entry['name'] !== 'string' || typeof entry['template'] !== 'string') {
        throw new TokenizerFileError(path, 'invalid-value', 'expected {"name", "template"} strings', `chat_template[${i}]`);
      }
      templates.set(entry['name'], { template: entry['template'], origin: `${path}#chat_template[${i}]` });
    });
  } else if (rawTemplate !== undefined && rawTemplate !== null) {
    throw new TokenizerFileError(path, 'invalid-value', 'expected a string or a list of named templates', 'chat_template');
  }
  // transformers gives a standalone chat_template.jinja precedence over the config key.
  if (templateFile !== undefined) templates.set('default', templateFile);

  const settings: TokenizerSettings = {
    path,
    bosToken: tokenContent(path, raw, 'bos_token'),
    eosToken: tokenContent(path, raw, 'eos_token'),
    padToken: tokenContent(path, raw, 'pad_token'),
    unkToken: tokenContent(path, raw, 'unk_token'),
    addBosToken: optionalBoolean(path, raw, 'add_bos_token') ?? false,
    addEosToken: optionalBoolean(path, raw, 'add_eos_token') ?? false,
    cleanUpTokenizationSpaces: optionalBoolean(path, raw, 'clean_up_tokenization_spaces') ?? false,
    modelMaxLength: modelMaxLength(path, raw),
    chatTemplates: templates,
    raw,
  };
  return Object.freeze(settings);
}

// HF writes a huge sentinel (1e30) when the tokenizer has no limit.
function modelMaxLength(path: string, raw: JsonObject): number | undefined {
  const value = optionalNumber(path, raw, 'model_max_length');
  return value === undefined || value > Number.MAX_SAFE_INTEGER ? undefined : value;
}

export function parseGenerationDefaults(path: string | undefined, raw: JsonObject | undefined): GenerationDefaults {
  const file = path ?? 'generation_config.json';
  const r = raw ?? {};
  const defaults: GenerationDefaults = {
    path,
    temperature: optionalNumber(file, r, 'temperature'),
    topP: optionalNumber(file, r, 'top_p'),
    topK: optionalNumber(file, r, 'top_k', true),
    minP: optionalNumber(file, r, 'min_p'),
    repetitionPenalty: optionalNumber(file, r, 'repetition_penalty'),
    doSample: optionalBoolean(file, r, 'do_sample'),
    maxNewTokens: optionalNumber(file, r, 'max_new_tokens', true),
    bosTokenId: tokenIdList(file, r, 'bos_token_id')[0],
    eosTokenIds: Object.freeze(tokenIdList(file, r, 'eos_token_id')),
    padTokenId: tokenIdList(file, r, 'pad_token_id')[0],
  };
  return Object.freeze(defaults);
}

export function parseModelInfo(path: string | undefined, raw: JsonObject | undefined): ModelInfo {
  const file = path ?? 'config.json';
  const modelType = raw?.['model_type'];
  if (modelType !== undefined && typeof modelType !== 'string') {
    throw new TokenizerFileError(file, 'invalid-value', 'expected a string', 'model_type');
  }
  const architectures = raw?.['architectures'] ?? [];
  if (!Array.isArray(architectures) || architectures.some((a) => typeof a !== 'string')) {
    throw new TokenizerFileError(file, 'invalid-value', 'expected a list of strings', 'architectures');
  }
  return Object.freeze({ path, modelType, architectures: Object.freeze([...(architectures as string[])]) });
}

/** All optional files of a model directory next to tokenizer.json. */
export interface ModelFiles {
  readonly tokenizerConfig: TokenizerSettings;
  readonly generation: GenerationDefaults;
  readonly model: ModelInfo;
}

export async function readModelFiles(dir: string): Promise<ModelFiles> {
  const tokenizerConfigPath = join(dir, 'tokenizer_config.json');
  const generationPath = join(dir, 'generation_config.json');
  const configPath = join(dir, 'config.json');
  const templatePath = join(dir, 'chat_template.jinja');
  const [tokCfg, genCfg, modelCfg, templateText] = await Promise.all([
    readJsonObject(tokenizerConfigPath, false),
    readJsonObject(generationPath, false),
    readJsonObject(configPath, false),
    readTextFile(templatePath, false),
  ]);
  const templateFile = templateText === undefined ? undefined : { template: templateText, origin: templatePath };
  return {
    tokenizerConfig: parseTokenizerSettings(tokenizerConfigPath, tokCfg ?? {}, templateFile),
    generation: parseGenerationDefaults(genCfg === undefined ? undefined : generationPath, genCfg),
    model: parseModelInfo(modelCfg === undefined ? undefined : configPath, modelCfg),
  };
}
