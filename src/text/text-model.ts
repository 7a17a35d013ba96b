// A model directory or GGUF file as a text model: tokenizer + chat encoding + weights + the
// batching engine. Both the CLI (run, chat) and the server start here, so loading, defaults and the
// errors a user sees are the same everywhere. A Hugging Face directory brings its tokenizer files;
// a GGUF file carries its tokenizer and chat template in its metadata.
import { existsSync, statSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import type { DeviceName } from '../backends/registry.js';
import { createBackend } from '../backends/registry.js';
import type { Backend } from '../ops/backend.js';
import { LLMEngine } from '../engine/index.js';
import type { EngineOptions, SamplingParamsInput } from '../engine/index.js';
import { SingleSequence } from '../engine/single-sequence.js';
import { isGgufPath, openModel } from '../models/open-model.js';
import type { KvDType } from '../ops/kv-cache.js';
import type { CausalLM } from '../models/model.js';
import { loadModel } from '../models/registry.js';
import type { ModelOptions } from '../models/architecture.js';
import type { Communicator } from '../ops/communicator.js';
import { followSteps, leaderModel } from '../parallel/step-broadcast.js';
import { createChatEncoder, createGgufTokenizer, detectToolCallFormat, getToolCallFormat, loadTokenizer, TokenizerFileError } from '../tokenizer/index.js';
import type { ChatEncoder, GenerationDefaults, LoadedTokenizer, Tokenizer, ToolCallFormat } from '../tokenizer/index.js';
import { ExclusiveModel } from './exclusive-model.js';
import { isGgufFile, readGgufMetadata } from './gguf-file.js';
import { TokenTexts } from './token-bytes.js';

/** A model directory that cannot serve text; the message says what to fix. */
export class ModelDirError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ModelDirError';
  }
}

/** Tokenizer side of a model: all that `tessera tokenize` needs (no weights). */
export interface TextTokenizer {
  /** the model directory or GGUF file */
  readonly dir: string;
  readonly loaded: LoadedTokenizer;
  readonly tokenizer: Tokenizer;
  /** null when the model has no chat template and is not a known DeepSeek release */
  readonly chat: ChatEncoder | null;
  readonly toolFormat: ToolCallFormat | null;
  readonly tokenTexts: TokenTexts;
  /** Sampling defaults from generation_config.json (vLLM applies them the same way). */
  readonly samplingDefaults: SamplingParamsInput;
  readonly maxNewTokensDefault: number | undefined;
}

export interface TextModel extends TextTokenizer {
  /** the name clients use (`model` in API requests) */
  readonly name: string;
  readonly model: CausalLM;
  readonly engine: LLMEngine;
  readonly maxModelLen: number;
  close(): Promise<void>;
}

/** Engine sizing; the KV cache is given in tokens or bytes (default: 1 GiB, capped at what maxNumSeqs full contexts need). */
export interface TextEngineOptions extends Omit<EngineOptions, 'numBlocks' | 'eosTokenIds'> {
  readonly kvCacheBytes?: number;
}

export interface LoadProgress {
  readonly stage: 'tokenizer' | 'weights' | 'warmup' | 'ready';
  /** 0..1 over the whole load */
  readonly fraction: number;
}

export interface TextTokenizerOptions {
  /** Non-fatal problems of the tokenizer metadata (default: stderr). */
  readonly warn?: (message: string) => void;
}

export interface TextModelOptions {
  readonly device?: DeviceName;
  readonly threads?: number;
  readonly fp8Activations?: 'quant' | 'none';
  readonly denseAttention?: boolean;
  /** grouped-query attention models: the cached K/V element type (default: the model's, bf16) */
  readonly kvCacheDtype?: KvDType;
  /** tensor parallelism: this process is rank 0 of the communicator's ranks (the others follow, see followTextModel) */
  readonly communicator?: Communicator;
  /** with a communicator: routed experts whole per rank (expert parallelism) */
  readonly expertParallel?: boolean;
  readonly engine?: TextEngineOptions;
  /** Run one tiny forward at load time so kernels compile before the first request (default true). */
  readonly warmup?: boolean;
  readonly name?: string;
  readonly onProgress?: (p: LoadProgress) => void;
  readonly warn?: (message: string) => void;
}

const DEFAULT_KV_CACHE_BYTES = 1 << 30;

const stderrWarn = (message: string): void => void process.stderr.write(`tessera: ${message}\n`);

function checkDir(dir: string): void {
  if (!existsSync(dir)) throw new ModelDirError(`${isGgufPath(dir) ? 'model file' : 'model directory'} ${dir} does not exist`);
  if (!statSync(dir).isDirectory()) throw new ModelDirError(`${dir} is not a directory (give --model the model's folder or a .gguf file)`);
}

/**
 * Loads the tokenizer of a model directory (its tokenizer files, with errors that name the missing
 * file) or of a GGUF file (its metadata; errors name the key).
 */
export async function loadTextTokenizer(dir: string, options: TextTokenizerOptions = {}): Promise<TextTokenizer> {
  if (isGgufFile(dir)) return textTokenizerFrom(dir, createGgufTokenizer(dir, readGgufMetadata(dir), { warn: options.warn ?? stderrWarn }));
  checkDir(dir);
  let loaded: LoadedTokenizer;
  try {
    loaded = await loadTokenizer(dir);
  } catch (err) {
    if (err instanceof TokenizerFileError && err.problem === 'missing') {
      throw new ModelDirError(`${dir} has no tokenizer.json: text commands need the tokenizer files (tokenizer.json, tokenizer_config.json) from the model's Hugging Face repository next to config.json`);
    }
    throw err;
  }
  return textTokenizerFrom(dir, loaded);
}

export function textTokenizerFrom(dir: string, loaded: LoadedTokenizer): TextTokenizer {
  let chat: ChatEncoder | null = null;
  try {
    chat = createChatEncoder(loaded);
  } catch {
    chat = null; // plain completions still work; chat requests say the template is missing
  }
  const template = loaded.config.chatTemplates.get('default')?.template;
  const toolFormatName = chat ? detectToolCallFormat(chat.kind, template) : undefined;
  return Object.freeze({
    dir,
    loaded,
    tokenizer: loaded.tokenizer,
    chat,
    toolFormat: toolFormatName ? getToolCallFormat(toolFormatName) : null,
    tokenTexts: new TokenTexts(loaded.tokenizer),
    samplingDefaults: samplingDefaults(loaded.generation),
    maxNewTokensDefault: loaded.generation.maxNewTokens,
  });
}

function samplingDefaults(g: GenerationDefaults): SamplingParamsInput {
  return {
    ...(g.temperature !== undefined ? { temperature: g.temperature } : {}),
    ...(g.topP !== undefined ? { topP: g.topP } : {}),
    ...(g.topK !== undefined ? { topK: g.topK } : {}),
    ...(g.minP !== undefined ? { minP: g.minP } : {}),
    ...(g.repetitionPenalty !== undefined ? { repetitionPenalty: g.repetitionPenalty } : {}),
  };
}

/** Opens the weights and starts the engine. */
export async function loadTextModel(dir: string, options: TextModelOptions = {}): Promise<TextModel> {
  const progress = options.onProgress ?? (() => {});
  progress({ stage: 'tokenizer', fraction: 0 });
  // A GGUF file is opened once: its header holds both the tokenizer and the tensors.
  const early = isGgufFile(dir) ? null : await loadTextTokenizer(dir, options);
  progress({ stage: 'weights', fraction: 0.1 });
  const hf = openModel(dir);
  let text: TextTokenizer;
  try {
    text = early ?? textTokenizerFrom(dir, createGgufTokenizer(dir, hf.gguf?.metadata ?? new Map(), { warn: options.warn ?? stderrWarn }));
  } catch (e) {
    hf.close();
    throw e;
  }
  let backend: Backend | null = null;
  let tm: TextModel | null = null;
  try {
    backend = await backendFor(options);
    const local = loadModel(hf, backend, modelOptionsFor(options));
    const comm = options.communicator;
    const model = comm && comm.size > 1 ? leaderModel(local, comm) : local;
    progress({ stage: 'warmup', fraction: 0.3 });
    tm = createTextModel(text, model, { ...options, name: options.name ?? basename(resolve(dir)) }, () => hf.close());
    if (options.warmup ?? true) await warmup(tm.model);
    progress({ stage: 'ready', fraction: 1 });
    return tm;
  } catch (e) {
    // a model that fails to load or start leaves no device memory or open files behind
    if (tm) await tm.close();
    else {
      backend?.dispose();
      hf.close();
    }
    throw e;
  }
}

function backendFor(options: TextModelOptions): Promise<Backend> {
  return createBackend(options.device ?? 'cpu', {
    ...(options.threads !== undefined ? { threads: options.threads } : {}),
    ...(options.warn ? { warn: options.warn } : {}),
  });
}

function modelOptionsFor(options: TextModelOptions): ModelOptions {
  return {
    fp8Activations: options.fp8Activations ?? 'quant',
    ...(options.denseAttention ? { denseAttention: true } : {}),
    ...(options.kvCacheDtype ? { kvCacheDtype: options.kvCacheDtype } : {}),
    ...(options.communicator ? { communicator: options.communicator } : {}),
    ...(options.expertParallel ? { expertParallel: true } : {}),
  };
}

/**
 * Ranks 1..N-1 of a tensor-parallel run: the same model options as rank 0's loadTextModel (the
 * same shard rules), then every cache and forward rank 0 announces, until it stops.
 */
export async function followTextModel(dir: string, options: TextModelOptions & { readonly communicator: Communicator }): Promise<void> {
  const hf = openModel(dir);
  let backend: Backend | null = null;
  try {
    backend = await backendFor(options);
    const model = loadModel(hf, backend, modelOptionsFor(options));
    try {
      await followSteps(model, options.communicator);
    } finally {
      model.dispose();
      backend = null;
    }
  } finally {
    backend?.dispose();
    hf.close();
  }
}

/** Builds a text model around an already-loaded CausalLM (tests use scripted models). */
export function createTextModel(text: TextTokenizer, inner: CausalLM, options: TextModelOptions = {}, onClose?: () => void): TextModel {
  if (text.tokenizer.vocabSize > inner.info.vocabSize) {
    const where = isGgufPath(text.dir) ? 'its tokenizer' : 'tokenizer.json';
    throw new ModelDirError(`${text.dir}: ${where} has ${text.tokenizer.vocabSize} tokens but the model's vocab_size is ${inner.info.vocabSize}; the tokenizer belongs to a different model`);
  }
  const e = options.engine ?? {};
  if (e.kvCacheTokens !== undefined && e.kvCacheBytes !== undefined) throw new ModelDirError('give the KV cache size in tokens or in bytes, not both');
  const model = new ExclusiveModel(inner);
  const maxModelLen = e.maxModelLen ?? inner.info.maxPositionEmbeddings;
  const maxNumSeqs = e.maxNumSeqs ?? Math.min(64, e.maxNumBatchedTokens ?? 64);
  const engineOptions: EngineOptions = {
    ...withoutUndefined({ blockSize: e.blockSize, maxNumSeqs: e.maxNumSeqs, maxNumBatchedTokens: e.maxNumBatchedTokens, enablePrefixCaching: e.enablePrefixCaching, maxModelLen: e.maxModelLen }),
    kvCacheTokens: e.kvCacheTokens ?? defaultKvTokens(model, e.kvCacheBytes, maxModelLen, maxNumSeqs, e.blockSize ?? 64),
    eosTokenIds: text.tokenizer.eosIds.length > 0 ? text.tokenizer.eosIds : inner.info.eosTokenIds,
  };
  const engine = new LLMEngine(model, engineOptions);
  let closed: Promise<void> | null = null;
  return Object.freeze({
    ...text,
    name: options.name ?? basename(resolve(text.dir)),
    model,
    engine,
    maxModelLen: engine.config.maxModelLen,
    close: () =>
      (closed ??= engine.close().then(() => {
        model.dispose();
        onClose?.();
      })),
  });
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

// Enough for maxNumSeqs full contexts, but no more than the byte budget allows.
function defaultKvTokens(model: CausalLM, bytes: number | undefined, maxModelLen: number, maxNumSeqs: number, blockSize: number): number {
  const perToken = model.createKvCache(1, blockSize).bytesPerToken;
  const budget = bytes ?? DEFAULT_KV_CACHE_BYTES;
  const fits = Math.floor(budget / Math.max(1, perToken));
  if (fits < blockSize) throw new ModelDirError(`a KV cache of ${budget} bytes holds ${fits} tokens (${perToken} bytes each), less than one block of ${blockSize}; raise --kv-cache-memory`);
  return bytes !== undefined ? fits : Math.min(fits, maxModelLen * maxNumSeqs);
}

// Compiles kernels and pages in weights: a two-token prefill plus one decode on a private cache.
async function warmup(model: CausalLM): Promise<void> {
  const seq = new SingleSequence(model, { maxTokens: 3, blockSize: 16 });
  const bos = model.info.bosTokenId ?? 0;
  await seq.prefill([bos, bos]);
  await seq.decode(bos);
}
