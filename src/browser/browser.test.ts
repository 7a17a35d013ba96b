// The browser build end to end: the bundle is built, the demo page is served with DeepSeek models,
// and headless Chromium (Debian's, WebGPU on its bundled SwiftShader) loads each model over HTTP and
// generates a greedy continuation that must match Node's token for token: the fixture model from
// token ids, and a model with DeepSeek's tokenizer from text (tokenized and detokenized in the page).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import type { Page } from 'playwright-core';
import type { Backend } from '../ops/backend.js';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import { createBackend } from '../backends/registry.js';
import { loadTokenizer } from '../tokenizer/tokenizer.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { loadGolden } from '../../test/helpers/golden.js';
import { makeTextModelDir } from '../../test/helpers/text-models.js';
import { generate } from './generate.js';
import { serveStatic } from './static-files.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRED = Boolean(process.env['TESSERA_REQUIRE_BROWSER']);
const NEW_TOKENS = 16;
const PROMPT = 'Once upon a time';

/** Node's side: WebGPU through Dawn where there is an adapter, else the JS kernels. */
async function nodeBackend(): Promise<Backend> {
  try {
    return await createBackend('webgpu');
  } catch {
    return createBackend('js');
  }
}

async function nodeContinuation(dir: string, prompt: readonly number[]): Promise<number[]> {
  const model = loadModel(openModel(dir), await nodeBackend(), { fp8Activations: 'quant' });
  try {
    return (await generate(model, prompt, { maxNewTokens: NEW_TOKENS, stopIds: model.info.eosTokenIds })).ids;
  } finally {
    model.dispose();
  }
}

interface PageResult {
  readonly ids: number[];
  readonly text: string;
  readonly error: string | null;
  readonly adapter: string | null;
}

async function runPage(page: Page, url: string): Promise<PageResult> {
  await page.goto(url);
  // page-side code as strings: this file is type-checked without the DOM library
  await page.waitForFunction("['done', 'error'].includes(document.body.dataset.state)", null, { timeout: 120_000 });
  return JSON.parse(await page.evaluate<string>('JSON.stringify(window.tessera)')) as PageResult;
}

const skip = !REQUIRED && !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium; CI sets TESSERA_REQUIRE_BROWSER=1)` : false;

test('browser: the demo page generates on WebGPU what Node generates', { skip, timeout: 300_000 }, async () => {
  const fixture = fixturePath('v32-tiny-bf16');
  const { golden } = loadGolden('v32-tiny-bf16', 'golden');
  const promptIds = golden.prompt_tokens[0]!;
  const text = await makeTextModelDir('v32');
  const out = mkdtempSync(join(tmpdir(), 'tessera-browser-'));
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs'), '--out', out], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const server = await serveStatic([
    { prefix: '/fixture/', dir: fixture },
    { prefix: '/text/', dir: text.dir },
    { prefix: '/', dir: out },
  ]);
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    // WebGPU on Linux needs the unsafe flag (SwiftShader here); the machine has no network
    args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-default-apps'],
  });
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));

    const want = await nodeContinuation(fixture, promptIds);
    assert.deepEqual(want, golden.greedy_tokens[0]!.slice(0, NEW_TOKENS), "Node's continuation is the fixture's greedy one");
    const fromIds = await runPage(page, `${server.url}/webgpu.html?model=/fixture/&ids=${promptIds.join(',')}&max=${NEW_TOKENS}&autorun=1`);
    assert.equal(fromIds.error, null, `page error: ${fromIds.error}`);
    assert.deepEqual(fromIds.ids, want, `token ids: browser (${fromIds.adapter}) vs Node`);

    const tokenizer = (await loadTokenizer(text.dir)).tokenizer;
    const textPrompt = tokenizer.encode(PROMPT);
    const wantText = await nodeContinuation(text.dir, textPrompt);
    const fromText = await runPage(page, `${server.url}/webgpu.html?model=/text/&prompt=${encodeURIComponent(PROMPT)}&max=${NEW_TOKENS}&autorun=1`);
    assert.equal(fromText.error, null, `page error: ${fromText.error}`);
    assert.deepEqual(fromText.ids, wantText, `text prompt: browser (${fromText.adapter}) vs Node`);
    assert.equal(fromText.text, tokenizer.decode(wantText, { skipSpecialTokens: true }));
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.close();
    await text.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});
