// The static server for the demo page and model directories: byte ranges, HEAD, no escapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveStatic } from './static-files.js';

test('static files: ranges, HEAD, index.html, 404 outside the mounts', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tessera-static-'));
  mkdirSync(join(root, 'site'));
  mkdirSync(join(root, 'model'));
  writeFileSync(join(root, 'site', 'index.html'), '<p>hi</p>');
  writeFileSync(join(root, 'model', 'w.bin'), Uint8Array.from({ length: 100 }, (_, i) => i));
  writeFileSync(join(root, 'secret.txt'), 'no');
  const s = await serveStatic([
    { prefix: '/m/', dir: join(root, 'model') },
    { prefix: '/', dir: join(root, 'site') },
  ]);
  try {
    const page = await fetch(`${s.url}/`);
    assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(await page.text(), '<p>hi</p>');
    const part = await fetch(`${s.url}/m/w.bin`, { headers: { Range: 'bytes=10-13' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), 'bytes 10-13/100');
    assert.deepEqual(Array.from(new Uint8Array(await part.arrayBuffer())), [10, 11, 12, 13]);
    const tail = await fetch(`${s.url}/m/w.bin`, { headers: { Range: 'bytes=98-' } });
    assert.deepEqual(Array.from(new Uint8Array(await tail.arrayBuffer())), [98, 99]);
    assert.equal((await fetch(`${s.url}/m/w.bin`, { headers: { Range: 'bytes=200-300' } })).status, 416);
    const head = await fetch(`${s.url}/m/w.bin`, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), '100');
    assert.equal((await fetch(`${s.url}/m/../secret.txt`)).status, 404);
    assert.equal((await fetch(`${s.url}/%2e%2e/secret.txt`)).status, 404);
    assert.equal((await fetch(`${s.url}/missing.js`)).status, 404);
  } finally {
    await s.close();
    rmSync(root, { recursive: true });
  }
});
