// The browser build end to end: the bundle is built, the demo page is served with a DeepSeek
// fixture model, headless Chromium (Debian's, WebGPU on its bundled SwiftShader) loads the model
// over HTTP and generates a greedy continuation that must match Node's token for token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { openHfDirectory } from '../formats/hf-directory.js';
import { loadModel } from '../models/registry.js';
import { createBackend } from '../backends/registry.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { loadGolden } from '../../test/helpers/golden.js';
import { generate } from './generate.js';
import { serveStatic } from './static-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRED = Boolean(process.env['TESSERA_REQUIRE_BROWSER']);
const NEW_TOKENS = 16;
const FIXTURE = 'v32-tiny-bf16';

/** Node's greedy continuation, on WebGPU (Dawn) where available, else the JS kernels. */
async function nodeContinuation(prompt: readonly number[]): Promise<number[]> {
  let backend;
  try {
    backend = await createBackend('webgpu');
  } catch {
    backend = await createBackend('js');
  }
  const model = loadModel(openHfDirectory(fixturePath(FIXTURE)), backend, { fp8Activations: 'quant' });
  try {
    return (await generate(model, prompt, { maxNewTokens: NEW_TOKENS })).ids;
  } finally {
    model.dispose();
  }
}

test('browser: the demo page generates on WebGPU what Node generates', { skip: !REQUIRED && !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium; CI sets TESSERA_REQUIRE_BROWSER=1)` : false, timeout: 300_000 }, async () => {
  const { golden } = loadGolden(FIXTURE, 'golden');
  const prompt = golden.prompt_tokens[0]!;
  const want = await nodeContinuation(prompt);

  const out = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs'), '--out', out], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const server = await serveStatic([
    { prefix: '/model/', dir: fixturePath(FIXTURE) },
    { prefix: '/', dir: out },
  ]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // SwiftShader's WebGPU needs the unsafe flag on Linux; the machine has no network
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
  });
  const errors: string[] = [];
  try {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/index.html?model=/model/&ids=${prompt.join(',')}&max=${NEW_TOKENS}&autorun=1`);
    // page-side code as strings: this file is type-checked without the DOM library
    await page.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", null, { timeout: 240_000 });
    const result = JSON.parse(await page.evaluate<string>('JSON.stringify(window.tessera)')) as { ids: number[]; error: string | null; adapter: string | null };
    assert.equal(result.error, null, `page error: ${result.error}`);
    assert.deepEqual(errors, []);
    assert.deepEqual(result.ids, want, `browser (${result.adapter}) vs Node`);
    assert.deepEqual(want, golden.greedy_tokens[0]!.slice(0, NEW_TOKENS), "Node's continuation is the fixture's greedy one");
  } finally {
    await browser.close();
    await server.close();
    rmSync(out, { recursive: true, force: true });
  }
});
