// What a route handler gets from the server, and small helpers the handlers share.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Usage } from '../engine/index.js';
import type { GrammarEngine } from '../grammar/index.js';
import type { TextModel } from '../text/index.js';
import { ApiError } from './api-error.js';
import type { Fields } from './fields.js';
import type { ServerMetrics } from './metrics.js';

export interface ResolvedServerOptions {
  readonly host: string;
  readonly port: number;
  readonly apiKeys: readonly string[];
  /** exact origins, or "*" */
  readonly allowedOrigins: readonly string[];
  readonly maxBodyBytes: number;
  /** engine requests allowed to wait for a slot; more are refused with queueFullStatus */
  readonly maxWaitingRequests: number;
  readonly queueFullStatus: 429 | 503;
  /** SSE keep-alive comment interval; 0 disables */
  readonly keepAliveMs: number;
  readonly shutdownTimeoutMs: number;
  readonly reasoningField: 'reasoning' | 'reasoning_content';
  /** /health turns 503 when the engine has pending work but no step finished for this long */
  readonly healthStuckMs: number;
  /** serves other GET/HEAD paths (the browser demo page); returns false when it has no such file */
  readonly staticFiles: ((req: IncomingMessage, res: ServerResponse) => boolean) | null;
}

export interface HandlerContext {
  readonly tm: TextModel;
  readonly options: ResolvedServerOptions;
  readonly metrics: ServerMetrics;
  readonly res: ServerResponse;
  /** aborted when the client disconnects or the server gives up draining */
  readonly signal: AbortSignal;
  /** performance.now() at arrival */
  readonly arrival: number;
  readonly requestId: string;
  /** extra headers for the response (X-Request-Id) */
  readonly headers: Readonly<Record<string, string>>;
  /** the model's grammar engine, made on first use */
  readonly grammar: () => Promise<GrammarEngine>;
}

/** 404 for a model name this server does not serve (absent = the served model). */
export function checkModel(f: Fields, tm: TextModel): void {
  const model = f.string('model', { maxLength: 1000 });
  if (model !== undefined && model !== tm.name) {
    throw new ApiError(404, 'invalid_request_error', `The model \`${model}\` does not exist. This server serves \`${tm.name}\`.`, 'model', 'model_not_found');
  }
}

/** Refuses work when the engine's waiting queue is full: a bounded queue beats unbounded latency. */
export function admit(ctx: HandlerContext, n: number): void {
  const waiting = ctx.tm.engine.stats().waiting;
  if (waiting + n > ctx.options.maxWaitingRequests) {
    throw new ApiError(
      ctx.options.queueFullStatus,
      ctx.options.queueFullStatus === 429 ? 'rate_limit_error' : 'service_unavailable',
      `The server is at capacity (${waiting} requests waiting, limit ${ctx.options.maxWaitingRequests}); retry later.`,
      null,
      'queue_full',
      { 'Retry-After': '1' },
    );
  }
}

export interface UsageJson {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
}

/** OpenAI usage for a request: the prompt counts once however many choices it has. */
export function usageJson(promptTokens: number, choices: ReadonlyArray<Usage | undefined>): UsageJson {
  let completion = 0;
  let cached = 0;
  for (const u of choices) {
    completion += u?.completionTokens ?? 0;
    cached = Math.max(cached, u?.cachedTokens ?? 0);
  }
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion, prompt_tokens_details: { cached_tokens: cached } };
}

export function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}
