// Node side of the browser build: serves the demo page, the bundle and model directories as
// static files (GET/HEAD with byte ranges, which the browser's safetensors loader uses). `tessera
// serve` can mount `demoMounts()`; tests use `serveStatic` standalone.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_MODEL_DIR } from '../models/default-model.js';

/** dist/browser: where scripts/build-browser.mjs writes the bundle and the page. */
export const BROWSER_BUILD_DIR = fileURLToPath(new URL('../../browser/', import.meta.url));

export interface Mount {
  /** URL path prefix ending in '/' */
  readonly prefix: string;
  readonly dir: string;
}

/** The demo at '/', the embedded default model at '/models/tessera-tiny/' (the page's default). */
export function demoMounts(modelDir: string = DEFAULT_MODEL_DIR, buildDir: string = BROWSER_BUILD_DIR): Mount[] {
  return [
    { prefix: '/models/tessera-tiny/', dir: modelDir },
    { prefix: '/', dir: buildDir },
  ];
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.jinja': 'text/plain; charset=utf-8',
};

function resolve(mounts: readonly Mount[], urlPath: string): string | null {
  let path: string;
  try {
    path = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  for (const m of mounts) {
    if (!path.startsWith(m.prefix)) continue;
    const rel = normalize(path.slice(m.prefix.length) || 'index.html');
    if (rel.startsWith('..') || rel.includes(`${sep}..`)) return null;
    const file = join(m.dir, rel);
    if (existsSync(file) && statSync(file).isFile()) return file;
    if (existsSync(join(file, 'index.html'))) return join(file, 'index.html');
    return null;
  }
  return null;
}

/** Handles GET/HEAD for the mounted directories; returns false when the path is not one of them. */
export function handleStatic(mounts: readonly Mount[], req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  const file = resolve(mounts, new URL(req.url ?? '/', 'http://x').pathname);
  if (!file) return false;
  const size = statSync(file).size;
  res.setHeader('Content-Type', TYPES[extname(file)] ?? 'application/octet-stream');
  res.setHeader('Accept-Ranges', 'bytes');
  res.setHeader('Cache-Control', 'no-cache');
  let start = 0;
  let end = size - 1;
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] || range[2])) {
    if (range[1]) {
      start = Number(range[1]);
      if (range[2]) end = Math.min(Number(range[2]), size - 1);
    } else start = Math.max(0, size - Number(range[2]));
    if (start > end || start >= size) {
      res.writeHead(416, { 'Content-Range': `bytes */${size}` }).end();
      return true;
    }
    res.statusCode = 206;
    res.setHeader('Content-Range', `bytes ${start}-${end}/${size}`);
  }
  res.setHeader('Content-Length', String(end - start + 1));
  if (req.method === 'HEAD' || end < start) {
    res.end();
    return true;
  }
  createReadStream(file, { start, end }).pipe(res);
  return true;
}

/** A standalone static server on 127.0.0.1 (port 0: any free port). */
export async function serveStatic(mounts: readonly Mount[], port = 0): Promise<{ server: Server; url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    if (!handleStatic(mounts, req, res)) res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
  });
  await new Promise<void>((ok) => server.listen(port, '127.0.0.1', ok));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : port}`;
  return { server, url, close: () => new Promise<void>((ok) => server.close(() => ok())) };
}
