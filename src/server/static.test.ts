import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
