// The grammar engine runs in the browser too: headless Chromium (Debian's, through playwright-core)
// loads @mlc-ai/web-xgrammar's own bundle, compiles a JSON schema over a small byte-level
// vocabulary and walks a constrained output; every step's token mask equals the one xgrammar
// computes in Node (src/grammar/xgrammar-instance.ts) for the same vocabulary and schema.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { chromium } from 'playwright-core';
import { serveStatic } from '../browser/static-files.js';
import { createXGrammarInstance } from './xgrammar-instance.js';

const CHROMIUM = process.env['TESSERA_CHROMIUM'] ?? '/usr/bin/chromium';
const REQUIRED = Boolean(process.env['TESSERA_REQUIRE_BROWSER']);
const skip = !REQUIRED && !existsSync(CHROMIUM) ? `no Chromium at ${CHROMIUM} (apt-get install chromium; CI sets TESSERA_REQUIRE_BROWSER=1)` : false;

// byte-level spellings (GPT-2 alphabet: Ġ is a space); the last id is the stop token
const VOCAB = ['{', '}', '"', 'a', 'b', ':', ',', '1', '2', '12', 'Ġ', '"a"', 'true', 'x', '</s>'];
const STOP = VOCAB.length - 1;
const SCHEMA = JSON.stringify({ type: 'object', properties: { a: { type: 'integer' }, b: { type: 'boolean' } }, required: ['a', 'b'], additionalProperties: false });
const OUTPUT = ['{', '"a"', ':', '12', ',', '"', 'b', '"', ':', 'true', '}'].map((t) => VOCAB.indexOf(t));

/** The allowed token ids before each output token and after the last one (the same code runs in the page). */
const WALK = `async (xg, vocab, stop, schema, output) => {
  const info = await xg.TokenizerInfo.createTokenizerInfo(vocab, 'byte_level', false, vocab.length, [stop]);
  const compiler = await xg.GrammarCompiler.createGrammarCompiler(info, false);
  const grammar = await compiler.compileJSONSchema(schema, false, -1, [',', ':'], true);
  const matcher = await xg.GrammarMatcher.createGrammarMatcher(grammar);
  const allowed = async () => {
    const mask = await matcher.getNextTokenBitmask();
    return vocab.map((_, id) => id).filter((id) => (mask[id >> 5] >>> (id & 31)) & 1);
  };
  const steps = [];
  for (const id of output) {
    steps.push(await allowed());
    if (!matcher.acceptToken(id)) throw new Error('token ' + id + ' refused');
  }
  steps.push(await allowed());
  return steps;
}`;

test('xgrammar in the browser: the same token masks as in Node along a constrained JSON output', { skip, timeout: 120_000 }, async () => {
  const walk = new Function(`return ${WALK}`)() as (xg: unknown, ...args: unknown[]) => Promise<number[][]>;
  const node = await walk(createXGrammarInstance().xg, VOCAB, STOP, SCHEMA, OUTPUT);
  assert.deepEqual(node.at(-1), [STOP], 'after the closing brace only the stop token is allowed');
  assert.ok(!node[0]!.includes(VOCAB.indexOf('x')) && node[0]!.includes(0), 'the output opens with "{" and never an "x"');

  const lib = dirname(createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar'));
  const page = mkdtempSync(join(tmpdir(), 'tessera-xgrammar-page-'));
  writeFileSync(join(page, 'index.html'), `<!doctype html><script src="/lib/index.js"></script><script>
    (${WALK})(globalThis.xgrammar, ${JSON.stringify(VOCAB)}, ${STOP}, ${JSON.stringify(SCHEMA)}, ${JSON.stringify(OUTPUT)})
      .then((steps) => { window.result = JSON.stringify(steps); }, (e) => { window.result = JSON.stringify({ error: String(e) }); });
  </script>`);
  const server = await serveStatic([
    { prefix: '/lib/', dir: lib },
    { prefix: '/', dir: page },
  ]);
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--no-first-run'] });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (e) => errors.push(e.message));
    await tab.goto(`${server.url}/index.html`);
    await tab.waitForFunction('window.result !== undefined', null, { timeout: 60_000 });
    const result = JSON.parse(await tab.evaluate<string>('window.result')) as number[][] | { error: string };
    assert.deepEqual(errors, []);
    assert.deepEqual(result, node);
  } finally {
    await browser.close();
    await server.close();
    rmSync(page, { recursive: true, force: true });
  }
});
