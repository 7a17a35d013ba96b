import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TesseraServer } from './server.js';
import { handleStatic } from '../browser/static-files.js';

test('the server serves static files (the browser demo) on paths that are not API routes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-static-'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>demo</title>');
  const server = new TesseraServer({ host: '127.0.0.1', port: 0, staticFiles: (req, res) => handleStatic([{ prefix: '/', dir }], req, res) });
  const addr = await server.listen();
  try {
    const base = `http://127.0.0.1:${addr.port}`;
    const page = await fetch(`${base}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await page.text(), /<title>demo<\/title>/);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 503, 'API routes come first (no model loaded yet)');
    const missing = await fetch(`${base}/nope.js`);
    assert.equal(missing.status, 404);
    assert.equal(((await missing.json()) as { error: { type: string } }).error.type, 'not_found_error');
  } finally {
    await server.shutdown(0);
    rmSync(dir, { recursive: true });
  }
});

/** GET with the path sent exactly as written (fetch would normalize dot segments first). */
function rawGet(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((done, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => done({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('static files never leave the mounted directory (dot segments, encoded slashes)', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-static-'));
  const www = join(root, 'www');
  mkdirSync(www);
  writeFileSync(join(www, 'index.html'), '<!doctype html><title>demo</title>');
  writeFileSync(join(root, 'secret.txt'), 'TOP SECRET');
  const server = new TesseraServer({ host: '127.0.0.1', port: 0, staticFiles: (req, res) => handleStatic([{ prefix: '/', dir: www }], req, res) });
  const { port } = await server.listen();
  try {
    assert.equal((await rawGet(port, '/index.html')).status, 200, 'the mount itself is served');
    for (const path of ['/../secret.txt', '/..%2fsecret.txt', '/%2e%2e/secret.txt', '/%2e%2e%2fsecret.txt', '/x/..%2f..%2fsecret.txt', '/..\\secret.txt']) {
      const r = await rawGet(port, path);
      assert.equal(r.status, 404, path);
      assert.doesNotMatch(r.body, /TOP SECRET/, path);
    }
  } finally {
    await server.shutdown(0);
    rmSync(root, { recursive: true });
  }
});
