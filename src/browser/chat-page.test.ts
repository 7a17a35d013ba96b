// The chat page at `/` of a real `tessera serve` (embedded model, an API key), in headless
// Chromium: the key asked for on 401, a conversation of two turns kept across a reload, a stopped
// answer, an error from the server shown, the same answer generated in the tab on WebGPU. TESSERA_CHAT_SCREENSHOT=FILE saves a screenshot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startServerProcess } from '../../test/helpers/server-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRED = Boolean(process.env['TESSERA_REQUIRE_BROWSER']);
const skip = !REQUIRED && !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium; CI sets TESSERA_REQUIRE_BROWSER=1)` : false;

test('chat page: API key on 401, two turns, stop, regenerate, a server error shown, in-tab WebGPU', { skip, timeout: 300_000 }, async () => {
  // the page is served from dist/browser, where `tessera serve` looks for it
  const built = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build-browser.mjs')], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
  const server = await startServerProcess(['--device', 'cpu', '--api-key', 'sk-page']);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1100, height: 760 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${server.url}/`);
    await page.locator('#key-form').waitFor({ state: 'visible' });
    await page.fill('#api-key', 'sk-page');
    await page.click('#key-form button');
    await page.locator('#model option').first().waitFor({ state: 'attached' });
    assert.equal(await page.inputValue('#model'), 'tessera-tiny');

    await page.fill('#temperature', '0');
    await page.fill('#max-tokens', '24');
    await page.fill('#system', 'You are terse.');
    const idle = () => page.waitForFunction("document.body.dataset.state === 'idle'", null, { timeout: 60_000 });
    const assistants = page.locator('.message.assistant');
    for (const [turn, text] of ['Tell me about **rivers**.', 'And mountains?'].entries()) {
      await page.fill('#input', text);
      await page.press('#input', 'Enter');
      await page.waitForFunction(`document.querySelectorAll('.message.assistant[data-finish]').length === ${turn + 1}`, null, { timeout: 60_000 });
      await idle();
    }
    assert.equal(await page.locator('.message.user').count(), 2);
    assert.equal(await page.locator('.message.user').first().textContent(), 'Tell me about **rivers**.', 'user text is shown as typed');
    const answers = await assistants.locator('.content').allTextContents();
    assert.equal(answers.length, 2);
    assert.ok(answers.every((a) => a.trim().length > 0), JSON.stringify(answers));
    // The same conversation through the API gives the same greedy answer.
    const api = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sk-page' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Tell me about **rivers**.' }], max_tokens: 24, temperature: 0, chat_template_kwargs: { thinking: false } }),
    });
    const first = ((await api.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    assert.equal(answers[0]!.replace(/\s+/g, ''), first.replace(/\s+/g, ''));
    if (process.env['TESSERA_CHAT_SCREENSHOT']) await page.screenshot({ path: process.env['TESSERA_CHAT_SCREENSHOT'] });

    // Kept in the browser: a reload shows the conversation.
    await page.reload();
    await page.waitForFunction("document.querySelectorAll('.message').length === 4");

    // Stop: a long answer cut as soon as text arrives.
    await page.fill('#max-tokens', '400');
    await page.fill('#input', 'Write a long story.');
    await page.press('#input', 'Enter');
    await page.waitForFunction("(document.querySelector('.message.assistant:last-child .content')?.textContent ?? '').length > 0", null, { timeout: 60_000 });
    await page.click('#stop');
    await idle();
    assert.equal(await assistants.last().getAttribute('data-finish'), 'stopped');

    // Regenerate replaces the last answer.
    await page.fill('#max-tokens', '8');
    await page.click('#regenerate');
    await page.waitForFunction("document.querySelector('.message.assistant:last-child')?.dataset.finish === 'length'", null, { timeout: 60_000 });
    assert.equal(await assistants.count(), 3);

    // An error from the server is shown: max tokens beyond the context.
    await page.fill('#max-tokens', '100000');
    await page.fill('#input', 'One more?');
    await page.press('#input', 'Enter');
    await page.locator('#error').waitFor({ state: 'visible' });
    assert.match((await page.textContent('#error')) ?? '', /^400: .*context/);
    await idle();

    // In this tab on WebGPU: the same greedy answer as the server's.
    await page.click('#new-chat');
    await page.check('#in-tab');
    await page.fill('#max-tokens', '12');
    await page.fill('#input', 'Hello there');
    await page.press('#input', 'Enter');
    await page.waitForFunction("document.querySelector('.message.assistant:last-child')?.dataset.finish", null, { timeout: 120_000 });
    await idle();
    const inTab = (await assistants.last().locator('.content').textContent()) ?? '';
    const server12 = await fetch(`${server.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { Authorization: 'Bearer sk-page' },
      body: JSON.stringify({ messages: [{ role: 'system', content: 'You are terse.' }, { role: 'user', content: 'Hello there' }], max_tokens: 12, temperature: 0 }),
    });
    const want = ((await server12.json()) as { choices: { message: { content: string } }[] }).choices[0]!.message.content;
    assert.ok(inTab.trim().length > 0);
    assert.equal(inTab.replace(/\s+/g, ''), want.replace(/\s+/g, ''), 'WebGPU in the tab vs the server');

    // Markdown: code blocks, lists, emphasis and links become elements; HTML stays text.
    const rendered = JSON.parse(await page.evaluate<string>(`import('/markdown.js').then(({ renderMarkdown }) => {
      const div = document.createElement('div');
      div.append(renderMarkdown('# T\\n- **a** and \\\`b\\\`\\n\\n\\\`\\\`\\\`js\\nlet x = 1 < 2;\\n\\\`\\\`\\\`\\n<img src=x onerror="window.pwned = 1"> [ok](https://a.b) [no](javascript:alert(1))'));
      return JSON.stringify({ tags: [...div.querySelectorAll('*')].map((e) => e.tagName), code: div.querySelector('pre code')?.textContent, lang: div.querySelector('pre code')?.dataset.lang, links: [...div.querySelectorAll('a')].map((a) => a.href) });
    })`)) as { tags: string[]; code: string; lang: string; links: string[] };
    assert.deepEqual(rendered.tags, ['H1', 'UL', 'LI', 'STRONG', 'CODE', 'PRE', 'CODE', 'P', 'A']);
    assert.equal(rendered.code, 'let x = 1 < 2;');
    assert.equal(rendered.lang, 'js');
    assert.deepEqual(rendered.links, ['https://a.b/']);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await server.stop('SIGKILL');
  }
});
