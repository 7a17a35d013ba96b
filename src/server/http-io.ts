// Reading request bodies and writing JSON and Server-Sent Events with Node's http module.
// A body is read whole (bounded), must be valid UTF-8 and valid JSON; everything else is a 4xx.
// The Content-Type is not checked: `curl -d` sends form encoding, and the body is JSON regardless.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, invalid } from './api-error.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

export async function readJsonBody(req: IncomingMessage, limitBytes: number): Promise<unknown> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > limitBytes) throw tooLarge(limitBytes);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const b = chunk as Buffer;
    size += b.length;
    if (size > limitBytes) throw tooLarge(limitBytes);
    chunks.push(b);
  }
  let text: string;
  try {
    text = utf8.decode(Buffer.concat(chunks));
  } catch {
    throw invalid(null, 'the request body is not valid UTF-8', 'invalid_utf8');
  }
  if (text.trim() === '') throw invalid(null, 'the request body is empty; send a JSON object', 'invalid_json');
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    throw invalid(null, `the request body is not valid JSON: ${(e as Error).message}`, 'invalid_json');
  }
}

function tooLarge(limit: number): ApiError {
  return new ApiError(413, 'invalid_request_error', `the request body is larger than ${limit} bytes`, null, 'request_too_large');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  if (res.headersSent) return;
  const data = JSON.stringify(body);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(data) });
  res.end(data);
}

export function sendError(res: ServerResponse, err: ApiError): void {
  sendJson(res, err.status, err.body(), err.headers);
}

/**
 * One SSE response: `data: <json>\n\n` events, `: keep-alive` comments while nothing else is sent
 * (long prefills must not look like a dead connection to proxies and clients), `data: [DONE]` last.
 */
export class SseWriter {
  #lastWrite = Date.now();
  readonly #timer: NodeJS.Timeout | null;
  #closed = false;

  constructor(
    private readonly res: ServerResponse,
    keepAliveMs: number,
    headers: Readonly<Record<string, string>> = {},
  ) {
    res.writeHead(200, {
      ...headers,
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.flushHeaders();
    this.#timer = keepAliveMs > 0 ? setInterval(() => this.#ping(keepAliveMs), Math.max(10, Math.floor(keepAliveMs / 2))) : null;
    this.#timer?.unref();
    res.on('close', () => this.#stop());
  }

  send(event: unknown): void {
    this.#write(`data: ${JSON.stringify(event)}\n\n`);
  }

  /** An error after the headers went out: a data event with the error object, then [DONE]. */
  fail(err: ApiError): void {
    this.send(err.body());
    this.done();
  }

  done(): void {
    if (this.#closed) return;
    this.#write('data: [DONE]\n\n');
    this.#stop();
    this.res.end();
  }

  #ping(keepAliveMs: number): void {
    if (Date.now() - this.#lastWrite >= keepAliveMs) this.#write(': keep-alive\n\n');
  }

  #write(s: string): void {
    if (this.#closed || this.res.writableEnded || this.res.destroyed) return;
    this.res.write(s);
    this.#lastWrite = Date.now();
  }

  #stop(): void {
    this.#closed = true;
    if (this.#timer) clearInterval(this.#timer);
  }
}
