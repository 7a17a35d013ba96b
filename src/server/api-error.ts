// OpenAI's error envelope, {"error": {message, type, param, code}}, and the one mapping from the
// typed errors of the lower layers to it. Handlers throw; the server answers with `toApiError`.
import { ContextLengthExceededError, EngineDeadError, RequestValidationError, SamplingParamsError } from '../engine/index.js';
import { ChatMessageError, ChatTemplateError } from '../tokenizer/index.js';
import { ChatPromptError } from '../text/index.js';

export interface ErrorBody {
  readonly error: { readonly message: string; readonly type: string; readonly param: string | null; readonly code: string | null };
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    /** extra response headers (e.g. Retry-After) */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }

  body(): ErrorBody {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** 400 with the offending field: what every validation failure becomes. */
export function invalid(param: string | null, message: string, code = 'invalid_value'): ApiError {
  return new ApiError(400, 'invalid_request_error', message, param, code);
}

/**
 * Maps any thrown value to an ApiError. `promptParam` names the request field holding the prompt
 * ("messages" or "prompt"), so an over-long prompt blames the prompt, not max_tokens.
 */
export function toApiError(err: unknown, promptParam = 'prompt'): ApiError {
  if (err instanceof ApiError) return err;
  if (err instanceof ContextLengthExceededError) {
    const promptTooLong = err.promptTokens >= err.maxModelLen;
    const message = promptTooLong
      ? `This model's maximum context length is ${err.maxModelLen} tokens, but the prompt has ${err.promptTokens} tokens. Please shorten the ${promptParam}.`
      : `This model's maximum context length is ${err.maxModelLen} tokens. However, you requested ${err.promptTokens + err.maxTokens} tokens (${err.promptTokens} in the prompt, ${err.maxTokens} for the completion). Please reduce the length of the ${promptParam} or max_tokens.`;
    return new ApiError(400, 'invalid_request_error', message, promptTooLong ? promptParam : 'max_tokens', 'context_length_exceeded');
  }
  if (err instanceof RequestValidationError) {
    const param = err.param === 'prompt' || err.param.startsWith('prompt[') ? err.param.replace(/^prompt/, promptParam) : err.param;
    return new ApiError(400, 'invalid_request_error', err.message, param, err.code);
  }
  if (err instanceof SamplingParamsError) return invalid(err.field, err.message);
  if (err instanceof ChatMessageError) return invalid(err.field, err.message);
  if (err instanceof ChatPromptError) return invalid(err.param, err.message);
  if (err instanceof ChatTemplateError) return new ApiError(400, 'invalid_request_error', err.message, 'messages', 'chat_template_error');
  if (err instanceof EngineDeadError) return new ApiError(503, 'service_unavailable', err.message, null, 'engine_dead');
  const message = err instanceof Error ? err.message : String(err);
  return new ApiError(500, 'internal_error', `internal error: ${message}`, null, 'internal_error');
}
