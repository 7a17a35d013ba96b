// Loading a model directory over HTTP (fetch stubbed by files on disk): the same tensors as the
// Node reader, sharded directories, servers that ignore Range, and errors that name the file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeSafetensors } from '../formats/safetensors-writer.js';
import { openHfDirectory } from '../formats/hf-directory.js';
import { ModelFormatError } from '../formats/errors.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { openHttpModel } from './http-model.js';
import type { FetchFn } from './http-fetch.js';

/** fetch over a directory: `http://m/<file>`, honouring Range unless `ranges` is false. */
function diskFetch(dir: string, ranges: boolean, log: string[] = []): FetchFn {
  return async (url, init) => {
    const file = join(dir, url.replace('http://m/', ''));
    const range = init?.headers?.['Range'];
    log.push(range ? `${url} ${range}` : url);
    if (!existsSync(file)) return new Response('not found', { status: 404 });
    const bytes = readFileSync(file);
    const m = /^bytes=(\d+)-(\d+)$/.exec(range ?? '');
    if (!m || !ranges) return new Response(bytes, { status: 200 });
    return new Response(bytes.subarray(Number(m[1]), Number(m[2]) + 1), { status: 206 });
  };
}

test('http model: the fixture over HTTP holds the same tensors as on disk', async () => {
  const dir = fixturePath('v32-tiny-fp8');
  const local = openHfDirectory(dir);
  const log: string[] = [];
  const progress: number[] = [];
  const remote = await openHttpModel('http://m/', { fetch: diskFetch(dir, true, log), onProgress: (p) => progress.push(p.loadedBytes / p.totalBytes) });
  try {
    assert.deepEqual(remote.config, local.config);
    assert.deepEqual(remote.tensors.names().sort(), local.tensors.names().sort());
    for (const name of local.tensors.names()) {
      assert.deepEqual(remote.tensors.info(name).shape, local.tensors.info(name).shape);
      assert.deepEqual(remote.tensors.read(name), new Uint8Array(local.tensors.read(name)), name);
    }
    assert.equal(progress.at(-1), 1);
    // config, the index probe, header length, header, data: never the whole file at once
    assert.ok(log.every((l) => !l.endsWith('model.safetensors')), log.join('\n'));
  } finally {
    local.tensors.close();
  }
});

test('http model: sharded directories, and servers that ignore Range', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-http-'));
  try {
    const t = (name: string, v: number) => ({ name, dtype: 'F32' as const, shape: [2, 3], data: new Uint8Array(Float32Array.from({ length: 6 }, (_, i) => v + i).buffer) });
    writeSafetensors(join(dir, 'a.safetensors'), [t('x', 0), t('y', 10)]);
    writeSafetensors(join(dir, 'b.safetensors'), [t('z', 20)]);
    writeFileSync(join(dir, 'config.json'), '{"model_type": "deepseek_v3"}');
    writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: { x: 'a.safetensors', y: 'a.safetensors', z: 'b.safetensors' } }));
    for (const ranges of [true, false]) {
      const m = await openHttpModel('http://m', { fetch: diskFetch(dir, ranges) });
      assert.deepEqual(m.tensors.names().sort(), ['x', 'y', 'z']);
      assert.deepEqual(Array.from(new Float32Array(m.tensors.read('z').slice().buffer)), [20, 21, 22, 23, 24, 25]);
      assert.equal(m.tensors.info('y').file, 'http://m/a.safetensors');
    }
    rmSync(join(dir, 'b.safetensors'));
    await assert.rejects(openHttpModel('http://m', { fetch: diskFetch(dir, true) }), (e: unknown) => e instanceof ModelFormatError && e.message.startsWith('http://m/b.safetensors: HTTP 404'));
  } finally {
    rmSync(dir, { recursive: true });
  }
});
