// What a caller hands the engine and gets back, and the up-front checks that turn a request into a
// Sequence (every refusal is a typed error before admission, never a failure mid-generation).
import type { ModelInfo } from '../models/model.js';
import type { EngineConfig } from './engine-config.js';
import { ContextLengthExceededError, RequestTooLargeError, RequestValidationError } from './engine-errors.js';
import { normalizeSamplingParams } from './sampler.js';
import type { SamplingParams, TokenLogprob } from './sampler.js';
import type { FinishReason, SequenceInit } from './sequence.js';
import type { TokenConstraint } from './token-constraint.js';

export interface GenerateRequest {
  /** Unique among active requests; generated when absent. */
  readonly requestId?: string;
  readonly promptIds: readonly number[];
  /** Normalized params (normalizeSamplingParams); default: temperature 1, nothing else. */
  readonly sampling?: SamplingParams;
  /** Default: as many as the context window and the KV cache allow. */
  readonly maxTokens?: number;
  readonly minTokens?: number;
  readonly stopTokenIds?: readonly number[];
  readonly ignoreEos?: boolean;
  /** Tenant salt for the prefix cache (vLLM's cache_salt). */
  readonly cacheSalt?: string;
  /**
   * Called after each generated token (once min_tokens are out); returning true finishes the request
   * with 'stop' before another step runs. The hook for stop strings: feed the id to an
   * IncrementalDecoder + StopStringMatcher and return whether it matched.
   */
  readonly stopCheck?: (tokenId: number, outputIds: readonly number[]) => boolean;
  /**
   * Structured output: tokens are sampled only among those the constraint allows. The engine owns
   * it once addRequest returns (it is disposed when the request ends); if addRequest throws, the
   * caller still does.
   */
  readonly constraint?: TokenConstraint;
}

export interface Usage {
  readonly promptTokens: number;
  readonly completionTokens: number;
  /** prompt tokens served from the prefix cache */
  readonly cachedTokens: number;
}

export interface TokenEvent {
  readonly type: 'token';
  readonly tokenId: number;
  /** 0-based index among the output tokens */
  readonly index: number;
  /** raw logprob info, present when sampling.logprobs */
  readonly logprob?: number;
  readonly rank?: number;
  readonly topLogprobs?: readonly TokenLogprob[];
}

export interface FinishEvent {
  readonly type: 'finish';
  readonly finishReason: FinishReason;
  /** the EOS / stop id that ended the request (also sent as the last token event), else null */
  readonly stopTokenId: number | null;
  readonly usage: Usage;
}

export type EngineEvent = TokenEvent | FinishEvent;

export interface GenerateResult {
  readonly tokenIds: readonly number[];
  readonly finishReason: FinishReason;
  readonly stopTokenId: number | null;
  readonly usage: Usage;
}

function tokenList(param: string, ids: readonly number[] | undefined, vocab: number): readonly number[] {
  if (ids === undefined) return [];
  if (!Array.isArray(ids)) throw new RequestValidationError(param, 'must be an array of token ids');
  ids.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new RequestValidationError(`${param}[${i}]`, `is ${String(id)}, not a token id of this model (vocab ${vocab})`);
  });
  return ids;
}

/** Validates a request against the model and cache; the result lacks only id and arrival time. */
export function validateRequest(req: GenerateRequest, config: EngineConfig, info: ModelInfo): Omit<SequenceInit, 'id' | 'arrivalTime'> {
  const promptIds = tokenList('prompt', req.promptIds, info.vocabSize);
  if (promptIds.length === 0) throw new RequestValidationError('prompt', 'must contain at least one token');
  const n = promptIds.length;
  const cacheTokens = config.numBlocks * config.blockSize;
  if (n >= config.maxModelLen) throw new ContextLengthExceededError(n, 1, config.maxModelLen);
  // The last sampled token is never fed back, so a request needs KV for prompt + max_tokens - 1.
  if (n > cacheTokens) throw new RequestTooLargeError(n, cacheTokens);
  const maxTokens = req.maxTokens ?? Math.min(config.maxModelLen - n, cacheTokens + 1 - n);
  if (!Number.isSafeInteger(maxTokens) || maxTokens < 1) throw new RequestValidationError('max_tokens', `must be a positive integer, got ${String(maxTokens)}`);
  if (n + maxTokens > config.maxModelLen) throw new ContextLengthExceededError(n, maxTokens, config.maxModelLen);
  if (n + maxTokens - 1 > cacheTokens) throw new RequestTooLargeError(n + maxTokens - 1, cacheTokens);
  const minTokens = req.minTokens ?? 0;
  if (!Number.isSafeInteger(minTokens) || minTokens < 0 || minTokens > maxTokens) {
    throw new RequestValidationError('min_tokens', `must be an integer in [0, max_tokens=${maxTokens}], got ${String(minTokens)}`);
  }
  if (req.stopCheck !== undefined && typeof req.stopCheck !== 'function') throw new RequestValidationError('stopCheck', 'must be a function');
  // A grammar decides where the output may end: forcing EOS away or ignoring it would leave a
  // sequence with no allowed token.
  if (req.constraint !== undefined && (minTokens > 0 || req.ignoreEos)) {
    throw new RequestValidationError(minTokens > 0 ? 'min_tokens' : 'ignore_eos', 'cannot be combined with structured output');
  }
  return {
    promptIds,
    sampling: req.sampling ?? normalizeSamplingParams({}),
    maxTokens,
    minTokens,
    stopTokenIds: tokenList('stop_token_ids', req.stopTokenIds, info.vocabSize),
    eosTokenIds: config.eosTokenIds,
    ignoreEos: req.ignoreEos ?? false,
    ...(req.cacheSalt !== undefined ? { cacheSalt: req.cacheSalt } : {}),
    ...(req.constraint !== undefined ? { constraint: req.constraint } : {}),
  };
}
