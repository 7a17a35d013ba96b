// Typed engine errors. Each names what the caller must change; `code` / `param` follow the OpenAI
// error envelope so a server can map them without string matching.

/** Base class: catch every engine failure with one `instanceof`. */
export class EngineError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Engine options that cannot work; `option` is the EngineOptions key. */
export class EngineConfigError extends EngineError {
  readonly option: string;
  constructor(option: string, detail: string) {
    super(`engine option ${option} ${detail}`);
    this.option = option;
  }
}

/** A request the engine refuses before admission (HTTP 400); `param` is the request field at fault. */
export class RequestValidationError extends EngineError {
  readonly param: string;
  readonly code: string;
  constructor(param: string, detail: string, code = 'invalid_request') {
    super(`${param} ${detail}`);
    this.param = param;
    this.code = code;
  }
}

/** prompt + max_tokens longer than the model's context window. */
export class ContextLengthExceededError extends RequestValidationError {
  readonly promptTokens: number;
  readonly maxTokens: number;
  readonly maxModelLen: number;
  constructor(promptTokens: number, maxTokens: number, maxModelLen: number) {
    super('max_tokens', `too large: this model's maximum context length is ${maxModelLen} tokens, but ${promptTokens} prompt tokens + ${maxTokens} max_tokens = ${promptTokens + maxTokens} were requested; shorten the prompt or lower max_tokens`, 'context_length_exceeded');
    this.name = 'ContextLengthExceededError';
    this.promptTokens = promptTokens;
    this.maxTokens = maxTokens;
    this.maxModelLen = maxModelLen;
  }
}

/** One request would need more KV blocks than the whole cache holds: admitting it could never finish. */
export class RequestTooLargeError extends RequestValidationError {
  readonly tokensNeeded: number;
  readonly cacheTokens: number;
  constructor(tokensNeeded: number, cacheTokens: number) {
    super('max_tokens', `too large for the KV cache: the request needs up to ${tokensNeeded} cached tokens but the cache holds ${cacheTokens}; shorten the prompt, lower max_tokens or enlarge the cache (kvCacheTokens / numBlocks)`, 'kv_cache_too_small');
    this.name = 'RequestTooLargeError';
    this.tokensNeeded = tokensNeeded;
    this.cacheTokens = cacheTokens;
  }
}

/** The engine stopped after a failed step (or was closed); nothing more can run on it. */
export class EngineDeadError extends EngineError {
  constructor(detail: string, cause?: unknown) {
    super(`engine is not running: ${detail}`, { cause });
  }
}
