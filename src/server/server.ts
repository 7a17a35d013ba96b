// The OpenAI-compatible HTTP server on Node's http module. It listens before the model is loaded
// (/health says 503 "loading" meanwhile), serves while ready, and on shutdown stops admitting
// (503), drains in-flight requests for up to the shutdown timeout, aborts what is left and closes.
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { GrammarEngine, grammarVocab } from '../grammar/index.js';
import type { TextModel } from '../text/index.js';
import { ApiError, toApiError } from './api-error.js';
import { ApiKeys, Cors } from './auth-cors.js';
import { chatCompletions } from './chat-completions.js';
import { completions } from './completions.js';
import type { HandlerContext, ResolvedServerOptions } from './handler-context.js';
import { readJsonBody, sendError, sendJson } from './http-io.js';
import { ServerMetrics } from './metrics.js';
import { detokenize, getModel, listModels, tokenize } from './model-routes.js';

export type ServerOptions = Partial<ResolvedServerOptions>;
export type ServerState = 'loading' | 'ready' | 'draining' | 'stopped';

export const DEFAULT_SERVER_OPTIONS: ResolvedServerOptions = Object.freeze({
  host: '127.0.0.1',
  port: 8000,
  apiKeys: [],
  allowedOrigins: [],
  maxBodyBytes: 32 * 1024 * 1024,
  maxWaitingRequests: 1024,
  queueFullStatus: 429,
  keepAliveMs: 15_000,
  shutdownTimeoutMs: 30_000,
  reasoningField: 'reasoning',
  healthStuckMs: 120_000,
  staticFiles: null,
});

type Handler = (ctx: HandlerContext, body: unknown) => Promise<void> | Record<string, unknown>;

export class TesseraServer {
  readonly options: ResolvedServerOptions;
  readonly metrics: ServerMetrics;
  readonly http: Server;
  #state: ServerState = 'loading';
  #tm: TextModel | null = null;
  #grammar: Promise<GrammarEngine> | null = null;
  #inFlight = 0;
  readonly #controllers = new Set<AbortController>();
  #drained: (() => void) | null = null;
  readonly #keys: ApiKeys;
  readonly #cors: Cors;
  readonly #created = Math.floor(Date.now() / 1000);
  /** when the model started serving (Date.now()), the reference before the engine's first step */
  #readyAt = 0;

  constructor(options: ServerOptions = {}) {
    this.options = Object.freeze({ ...DEFAULT_SERVER_OPTIONS, ...withoutUndefined(options) });
    this.metrics = new ServerMetrics(() => this.#tm?.name ?? 'loading');
    this.#keys = new ApiKeys(this.options.apiKeys);
    this.#cors = new Cors(this.options.allowedOrigins);
    this.http = createServer((req, res) => void this.#handle(req, res));
    this.http.keepAliveTimeout = 5_000;
    this.http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => this.#clientError(err, socket));
  }

  get state(): ServerState {
    return this.#state;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  get model(): TextModel | null {
    return this.#tm;
  }

  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port, this.options.host, () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    return this.http.address() as AddressInfo;
  }

  /** The model is loaded: start serving. */
  setModel(tm: TextModel): void {
    this.#tm = tm;
    this.#grammar = null;
    this.#readyAt = Date.now();
    if (this.#state === 'loading') this.#state = 'ready';
  }

  /**
   * Stops admitting requests, waits for those in flight (at most `timeoutMs`), aborts the rest,
   * closes the engine and the listener.
   */
  async shutdown(timeoutMs = this.options.shutdownTimeoutMs): Promise<{ drained: boolean }> {
    if (this.#state === 'stopped') return { drained: true };
    this.#state = 'draining';
    let drained = this.#inFlight === 0;
    if (!drained) {
      const done = new Promise<void>((resolve) => (this.#drained = resolve));
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      await Promise.race([done, timeout]);
      clearTimeout(timer);
      drained = this.#inFlight === 0;
    }
    for (const c of this.#controllers) c.abort();
    await this.#tm?.close();
    this.#state = 'stopped';
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
    return { drained };
  }

  /** /health: 200 only when ready and the engine is alive and moving. */
  health(): { status: number; body: Record<string, unknown> } {
    if (this.#state !== 'ready' || !this.#tm) return { status: 503, body: { status: this.#state } };
    const engine = this.#tm.engine;
    const h = engine.health(this.options.healthStuckMs);
    if (!h.ok) return { status: 503, body: { status: 'unhealthy', reason: h.reason } };
    // Work pending but no step started or finished for a long time (or since serving began, before
    // the first step): the loop is not moving.
    const s = engine.stats();
    const idleFor = Date.now() - (s.lastStepAt ?? this.#readyAt);
    if (s.running + s.waiting > 0 && s.stepStartedAt === null && idleFor > this.options.healthStuckMs) {
      return { status: 503, body: { status: 'unhealthy', reason: `requests are pending but no step ran for ${idleFor} ms` } };
    }
    return { status: 200, body: { status: 'ok' } };
  }

  /**
   * HTTP the parser refuses (oversized headers, a broken request line, Content-Length or chunked
   * encoding, a header timeout): Node would answer with an empty body; clients get an error object.
   */
  #clientError(err: NodeJS.ErrnoException, socket: Socket): void {
    if (!socket.writable || err.code === 'ECONNRESET') {
      socket.destroy();
      return;
    }
    const [status, code] = err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'headers_too_large'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'request_timeout'] : [400, 'malformed_http'];
    const body = JSON.stringify(new ApiError(status, 'invalid_request_error', `malformed HTTP request (${err.code ?? err.message})`, null, code).body());
    this.metrics.response(status);
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrival = performance.now();
    res.on('finish', () => this.metrics.response(res.statusCode));
    const fromClient = req.headers['x-request-id'];
    const requestId = randomUUID().replace(/-/g, '');
    // A client's id is echoed only when it is a plain token (no header injection, bounded size).
    const headers: Record<string, string> = { 'X-Request-Id': typeof fromClient === 'string' && /^[\w.:-]{1,200}$/.test(fromClient) ? fromClient : requestId };
    try {
      this.#cors.apply(req, res);
      if (req.method === 'OPTIONS') return this.#cors.preflight(req, res);
      const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '') || '/';
      if (path.startsWith('/v1/') || path === '/v1') this.#keys.check(req);
      const route = this.#route(req.method ?? 'GET', path);
      if (route.kind === 'none') {
        if (!path.startsWith('/v1') && this.options.staticFiles?.(req, res)) return;
        throw new ApiError(404, 'not_found_error', `no route for ${req.method} ${path}`, null, 'not_found');
      }
      if (route.kind === 'static') return route.send(res);
      await this.#generate(req, res, route.handler, { arrival, requestId, headers });
    } catch (e) {
      if (!res.headersSent && !res.destroyed) sendError(res, toApiError(e));
    }
  }

  #route(method: string, path: string): { kind: 'static'; send: (res: ServerResponse) => void } | { kind: 'handler'; handler: Handler } | { kind: 'none' } {
    const get = (send: (res: ServerResponse) => void) => {
      if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed(method, path, 'GET');
      return { kind: 'static' as const, send };
    };
    const post = (handler: Handler) => {
      if (method !== 'POST') throw methodNotAllowed(method, path, 'POST');
      return { kind: 'handler' as const, handler };
    };
    switch (path) {
      case '/health':
        return get((res) => {
          const h = this.health();
          sendJson(res, h.status, h.body);
        });
      case '/metrics':
        return get((res) => {
          const body = this.metrics.render(this.#tm?.engine.stats() ?? null);
          res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
          res.end(body);
        });
      case '/v1/models':
        return get((res) => sendJson(res, 200, listModels(this.#ready(), this.#created)));
      case '/v1/chat/completions':
        return post(chatCompletions);
      case '/v1/completions':
        return post(completions);
      case '/tokenize':
        return post((ctx, body) => tokenize(ctx.tm, body));
      case '/detokenize':
        return post((ctx, body) => detokenize(ctx.tm, body));
    }
    if (path.startsWith('/v1/models/')) {
      const raw = path.slice('/v1/models/'.length);
      return get((res) => sendJson(res, 200, getModel(this.#ready(), this.#created, decodeModelId(raw))));
    }
    return { kind: 'none' };
  }

  #ready(): TextModel {
    if (this.#state === 'loading' || !this.#tm) throw new ApiError(503, 'service_unavailable', 'the model is still loading; retry shortly', null, 'model_loading', { 'Retry-After': '5' });
    if (this.#state !== 'ready') throw new ApiError(503, 'service_unavailable', 'the server is shutting down', null, 'shutting_down');
    return this.#tm;
  }

  // Building the vocabulary for xgrammar takes a moment, so only servers that get a structured
  // request pay it, once.
  #grammarFor(tm: TextModel): Promise<GrammarEngine> {
    if (this.#grammar === null) {
      this.#grammar = GrammarEngine.create(grammarVocab(tm.tokenizer, tm.tokenTexts, tm.model.info.vocabSize, tm.engine.config.eosTokenIds));
      this.#grammar.catch(() => (this.#grammar = null));
    }
    return this.#grammar;
  }

  async #generate(req: IncomingMessage, res: ServerResponse, handler: Handler, meta: { arrival: number; requestId: string; headers: Record<string, string> }): Promise<void> {
    const tm = this.#ready();
    const controller = new AbortController();
    // The client going away (before or during the answer) aborts the work at once.
    res.on('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    this.#inFlight++;
    this.#controllers.add(controller);
    try {
      const body = await readJsonBody(req, this.options.maxBodyBytes);
      const ctx: HandlerContext = { tm, options: this.options, metrics: this.metrics, res, signal: controller.signal, grammar: () => this.#grammarFor(tm), ...meta };
      const result = await handler(ctx, body);
      if (result !== undefined) sendJson(res, 200, result, meta.headers);
    } catch (e) {
      if (!controller.signal.aborted && !res.headersSent) sendError(res, toApiError(e));
    } finally {
      this.#controllers.delete(controller);
      if (--this.#inFlight === 0) this.#drained?.();
    }
  }
}

function methodNotAllowed(method: string, path: string, allowed: string): ApiError {
  return new ApiError(405, 'invalid_request_error', `${method} is not allowed on ${path}; use ${allowed}`, null, 'method_not_allowed', { Allow: allowed });
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** A model id from the URL path; a malformed percent-escape is the client's error. */
function decodeModelId(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'invalid_request_error', `malformed model id in the URL: ${raw}`, 'model', 'invalid_model_id');
  }
}
