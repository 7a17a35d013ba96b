// Engine options, normalized once into a frozen, validated config (errors name the option).
import type { ModelInfo } from '../models/model.js';
import { EngineConfigError } from './engine-errors.js';

export interface EngineOptions {
  /** KV cache size in blocks; give this or kvCacheTokens. */
  readonly numBlocks?: number;
  /** KV cache size in tokens (rounded up to whole blocks); give this or numBlocks. */
  readonly kvCacheTokens?: number;
  /** Tokens per KV block (default 64). */
  readonly blockSize?: number;
  /** Most sequences running at once (default 64, or maxNumBatchedTokens if smaller). */
  readonly maxNumSeqs?: number;
  /** Token budget per step (default 2048); >= maxNumSeqs. Small favours latency, large throughput. */
  readonly maxNumBatchedTokens?: number;
  readonly enablePrefixCaching?: boolean;
  /** Context window to enforce (default and upper bound: the model's max_position_embeddings). */
  readonly maxModelLen?: number;
  /** EOS ids (default: the model's), e.g. from generation_config.json. */
  readonly eosTokenIds?: readonly number[];
}

export interface EngineConfig {
  readonly numBlocks: number;
  readonly blockSize: number;
  readonly maxNumSeqs: number;
  readonly maxNumBatchedTokens: number;
  readonly enablePrefixCaching: boolean;
  readonly maxModelLen: number;
  readonly eosTokenIds: readonly number[];
}

function positiveInt(option: string, value: number | undefined, fallback?: number): number {
  const v = value ?? fallback;
  if (v === undefined) throw new EngineConfigError(option, 'is required');
  if (!Number.isSafeInteger(v) || v < 1) throw new EngineConfigError(option, `must be a positive integer, got ${String(v)}`);
  return v;
}

export function normalizeEngineOptions(options: EngineOptions, info: ModelInfo): EngineConfig {
  const blockSize = positiveInt('blockSize', options.blockSize, 64);
  if (options.numBlocks !== undefined && options.kvCacheTokens !== undefined) {
    throw new EngineConfigError('numBlocks', 'and kvCacheTokens are alternatives; give one');
  }
  const numBlocks = options.numBlocks !== undefined
    ? positiveInt('numBlocks', options.numBlocks)
    : Math.ceil(positiveInt('kvCacheTokens', options.kvCacheTokens) / blockSize);
  // Each default yields to the other option when only that one is given.
  const givenBudget = options.maxNumBatchedTokens === undefined ? undefined : positiveInt('maxNumBatchedTokens', options.maxNumBatchedTokens);
  const maxNumSeqs = positiveInt('maxNumSeqs', options.maxNumSeqs, Math.min(64, givenBudget ?? 64));
  const maxNumBatchedTokens = givenBudget ?? Math.max(2048, maxNumSeqs);
  if (maxNumBatchedTokens < maxNumSeqs) {
    throw new EngineConfigError('maxNumBatchedTokens', `(${maxNumBatchedTokens}) must be >= maxNumSeqs (${maxNumSeqs}) so every running decode fits in a step`);
  }
  const maxModelLen = positiveInt('maxModelLen', options.maxModelLen, info.maxPositionEmbeddings);
  if (maxModelLen > info.maxPositionEmbeddings) {
    throw new EngineConfigError('maxModelLen', `(${maxModelLen}) exceeds the model's max_position_embeddings (${info.maxPositionEmbeddings})`);
  }
  const eosTokenIds = options.eosTokenIds ?? info.eosTokenIds;
  for (const id of eosTokenIds) {
    if (!Number.isInteger(id) || id < 0 || id >= info.vocabSize) throw new EngineConfigError('eosTokenIds', `contains ${id}, not a token id of this model (vocab ${info.vocabSize})`);
  }
  return Object.freeze({
    numBlocks, blockSize, maxNumSeqs, maxNumBatchedTokens,
    enablePrefixCaching: options.enablePrefixCaching ?? true,
    maxModelLen,
    eosTokenIds: Object.freeze([...eosTokenIds]),
  });
}
