// Bearer API keys (several allowed) and a CORS allow-list.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError } from './api-error.js';

/**
 * Keys are kept as SHA-256 digests and compared with timingSafeEqual: equal-length digests make
 * the comparison time independent of where a guess differs, and every key is checked.
 */
export class ApiKeys {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  check(req: IncomingMessage): void {
    if (!this.enabled) return;
    const header = req.headers['authorization'];
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (m === null) throw unauthorized('Missing API key: send it as "Authorization: Bearer <key>".');
    const given = digest(m[1]!);
    let ok = false;
    for (const d of this.#digests) ok = timingSafeEqual(given, d) || ok;
    if (!ok) throw unauthorized('Incorrect API key provided.');
  }
}

function digest(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function unauthorized(message: string): ApiError {
  return new ApiError(401, 'invalid_request_error', message, null, 'invalid_api_key', { 'WWW-Authenticate': 'Bearer' });
}

export class Cors {
  readonly #any: boolean;
  readonly #origins: ReadonlySet<string>;

  constructor(allowed: readonly string[]) {
    this.#any = allowed.includes('*');
    this.#origins = new Set(allowed.map((o) => o.replace(/\/$/, '')));
  }

  /** Adds Access-Control-Allow-Origin for an allowed Origin; returns whether it was allowed. */
  apply(req: IncomingMessage, res: ServerResponse): boolean {
    const origin = req.headers['origin'];
    if (typeof origin !== 'string') return false;
    if (!this.#any && !this.#origins.has(origin)) return false;
    res.setHeader('Access-Control-Allow-Origin', this.#any ? '*' : origin);
    res.setHeader('Vary', 'Origin');
    res.setHeader('Access-Control-Expose-Headers', 'X-Request-Id');
    return true;
  }

  /** OPTIONS preflight: 204 with the allowed methods and headers, or 403 for an unlisted origin. */
  preflight(req: IncomingMessage, res: ServerResponse): void {
    if (!this.apply(req, res)) {
      const body = JSON.stringify(new ApiError(403, 'invalid_request_error', 'origin not allowed (see --allowed-origin)', null, 'cors_origin_not_allowed').body());
      res.writeHead(403, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    const requested = req.headers['access-control-request-headers'];
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, POST, OPTIONS',
      'Access-Control-Allow-Headers': typeof requested === 'string' ? requested : 'Authorization, Content-Type',
      'Access-Control-Max-Age': '600',
    });
    res.end();
  }
}
