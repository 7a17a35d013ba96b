// Fetching model files over HTTP: whole files, byte ranges (with a fallback for servers that
// ignore Range and answer 200 with the whole file), and download progress.
import { ModelFormatError } from '../formats/errors.js';

export type FetchFn = (url: string, init?: { headers?: Record<string, string> }) => Promise<Response>;

/** Called as bytes of a download arrive. */
export type BytesCallback = (bytes: number) => void;

const defaultFetch: FetchFn = (url, init) => fetch(url, init);

async function readBody(url: string, res: Response, onBytes?: BytesCallback): Promise<Uint8Array> {
  if (!res.body || !onBytes) return new Uint8Array(await res.arrayBuffer());
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    total += value.byteLength;
    onBytes(value.byteLength);
  }
  if (Number.isFinite(declared) && declared !== total) throw new ModelFormatError(url, `download ended after ${total} of ${declared} bytes`);
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

export class HttpFiles {
  /** whole files of servers that ignored a Range request */
  private readonly whole = new Map<string, Uint8Array>();

  constructor(private readonly fetchFn: FetchFn = defaultFetch) {}

  /** The file's text, or null when the server answers 404. */
  async text(url: string, required: boolean): Promise<string | null> {
    const res = await this.fetchFn(url);
    if (res.status === 404 && !required) return null;
    if (!res.ok) throw new ModelFormatError(url, `HTTP ${res.status} ${res.statusText}`);
    return res.text();
  }

  async json(url: string, required: boolean): Promise<Record<string, unknown> | null> {
    const text = await this.text(url, required);
    if (text === null) return null;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (e) {
      throw new ModelFormatError(url, `not valid JSON: ${(e as Error).message}`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ModelFormatError(url, 'expected a JSON object');
    return value as Record<string, unknown>;
  }

  /** Bytes [start, end) of a file. */
  async range(url: string, start: number, end: number, onBytes?: BytesCallback): Promise<Uint8Array> {
    const cached = this.whole.get(url);
    if (cached) return this.slice(url, cached, start, end);
    if (end <= start) return new Uint8Array(0);
    const res = await this.fetchFn(url, { headers: { Range: `bytes=${start}-${end - 1}` } });
    if (!res.ok) throw new ModelFormatError(url, `HTTP ${res.status} ${res.statusText}`);
    if (res.status === 206) {
      const body = await readBody(url, res, onBytes);
      if (body.byteLength !== end - start) throw new ModelFormatError(url, `asked for bytes ${start}-${end - 1}, got ${body.byteLength} bytes`);
      return body;
    }
    const whole = await readBody(url, res, onBytes);
    this.whole.set(url, whole);
    return this.slice(url, whole, start, end);
  }

  private slice(url: string, whole: Uint8Array, start: number, end: number): Uint8Array {
    if (end > whole.byteLength) throw new ModelFormatError(url, `file is truncated: ${whole.byteLength} bytes, needed ${end}`);
    return whole.subarray(start, end);
  }
}
