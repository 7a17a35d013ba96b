// `tessera run` end to end as a child process, on a random tiny DeepSeek-V3.2 model that carries
// the real DeepSeek tokenizer (output is gibberish; the mechanics are exact).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { normalizeSamplingParams } from '../engine/index.js';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import { createTextModel, loadTextTokenizer } from '../text/index.js';
import type { TextModel } from '../text/index.js';
import { runCli } from '../../test/helpers/cli.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { makeTextModelDir, stopAcrossTokens } from '../../test/helpers/text-models.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { parseSamplingFlags } from './run.js';
import { UsageError } from './cli-error.js';

const PROMPT = 'The quick brown fox';

describe('tessera run', () => {
  let fixture: FixtureDir;
  let tm: TextModel;
  /** greedy output of PROMPT in-process: token ids and each token's text */
  let greedy: { ids: number[]; text: string };

  before(async () => {
    fixture = await makeTextModelDir('v32');
    const text = await loadTextTokenizer(fixture.dir);
    const model = loadModel(openModel(fixture.dir), new RefBackend(), { fp8Activations: 'quant' });
    tm = createTextModel(text, model, { engine: { kvCacheTokens: 1024 } });
    const r = await tm.engine.generate({ promptIds: text.tokenizer.encode(PROMPT), maxTokens: 24, ignoreEos: true, sampling: normalizeSamplingParams({ temperature: 0 }) });
    greedy = { ids: [...r.tokenIds], text: text.tokenizer.decode(r.tokenIds, { skipSpecialTokens: true }) };
  });
  after(async () => {
    await tm.close();
    await fixture.dispose();
  });

  const run = (...args: string[]) => runCli(['run', '--model', fixture.dir, '--device', 'ref', ...args]);

  it('streams the greedy continuation to stdout and tokens/s to stderr', () => {
    const r = run('--prompt', PROMPT, '--temperature', '0', '--max-tokens', '24', '--ignore-eos');
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, greedy.text + (greedy.text.endsWith('\n') ? '' : '\n'));
    assert.match(r.stderr, /^\d+ prompt tokens, 24 generated in [\d.]+ s \([\d.]+ tok\/s\), first token after \d+ ms, finish: length\n$/);
    assert.doesNotMatch(r.stderr, /loading model/, 'no progress bar when stdout is not a terminal');
  });

  it('a stop string spanning two tokens cuts the output before it', () => {
    const found = stopAcrossTokens(greedy.ids.map((id) => tm.tokenizer.decode([id])), greedy.text);
    assert.ok(found, `no usable token boundary in ${JSON.stringify(greedy.ids)}`);
    const { stop } = found;
    const r = run('--prompt', PROMPT, '--temperature', '0', '--max-tokens', '24', '--ignore-eos', '--stop', stop);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.replace(/\n$/, ''), greedy.text.slice(0, greedy.text.indexOf(stop)));
    assert.match(r.stderr, new RegExp(`, ${found.tokens} generated in`), 'generation stopped at the token that completed the stop string');
  });

  it('a seed makes sampling reproducible; --chat --thinking shows reasoning in <think> when piped', () => {
    const a = run('--prompt', PROMPT, '--seed', '7', '--temperature', '1', '--max-tokens', '8');
    const b = run('--prompt', PROMPT, '--seed', '7', '--temperature', '1', '--max-tokens', '8');
    assert.equal(a.code, 0, a.stderr);
    assert.equal(a.stdout, b.stdout);
    const c = run('--prompt', 'hi', '--chat', '--thinking', '--max-tokens', '4', '--ignore-eos');
    assert.equal(c.code, 0, c.stderr);
    assert.match(c.stdout, /^<think>\n[^]*\n<\/think>\n$/);
    const hidden = run('--prompt', 'hi', '--chat', '--thinking', '--hide-reasoning', '--max-tokens', '4', '--ignore-eos');
    assert.equal(hidden.stdout, '');
  });

  it('says what to fix: missing directory, missing tokenizer, long prompt, unknown flag, bad value', () => {
    const missing = runCli(['run', '--model', join(fixture.dir, 'nope'), '--prompt', 'x']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /model directory .*nope does not exist/);
    const noTokenizer = runCli(['run', '--model', fixturePath('v32-tiny-bf16'), '--prompt', 'x', '--device', 'ref']);
    assert.equal(noTokenizer.code, 1);
    assert.match(noTokenizer.stderr, /has no tokenizer\.json: text commands need the tokenizer files/);
    const long = run('--prompt', 'word '.repeat(600));
    assert.equal(long.code, 1);
    assert.match(long.stderr, /the prompt is \d+ tokens, but the model's context is 512 tokens; shorten the prompt/);
    const flag = run('--prompt', 'x', '--temprature', '0');
    assert.equal(flag.code, 2);
    assert.match(flag.stderr, /Unknown option '--temprature'[^]*usage: tessera run/);
    const value = run('--prompt', 'x', '--top-p', '1.5');
    assert.equal(value.code, 2);
    assert.match(value.stderr, /--top-p must be <= 1, got 1\.5/);
    const limit = run('--prompt', 'x', '--max-model-len', '100000');
    assert.equal(limit.code, 2);
    assert.match(limit.stderr, /--max-model-len \(100000\) exceeds the model's max_position_embeddings \(\d+\)/);
    for (const r of [missing, noTokenizer, long, flag, value, limit]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  });

  it('checks sampling flag values before loading: --top-k -1 is "all", seeds are decimal integers', () => {
    assert.deepEqual(parseSamplingFlags({ 'top-k': '-1', seed: '-3' }).input, { topK: -1, seed: -3 });
    assert.deepEqual(parseSamplingFlags({ 'top-p': '0.5', 'max-tokens': '9' }), { maxTokens: 9, input: { topP: 0.5 } });
    for (const [flags, message] of [
      [{ seed: '' }, /--seed must be an integer/],
      [{ seed: '0x10' }, /--seed must be an integer/],
      [{ seed: '1e3' }, /--seed must be an integer/],
      [{ 'top-k': '-2' }, /--top-k must be an integer >= -1/],
      [{ 'top-p': '0' }, /--top-p must be > 0/],
      [{ 'max-tokens': '0' }, /--max-tokens must be an integer >= 1/],
    ] as const) {
      assert.throws(() => parseSamplingFlags(flags), (e: unknown) => e instanceof UsageError && message.test(e.message), JSON.stringify(flags));
    }
  });

  it('without --model announces and uses the embedded model', () => {
    const r = runCli(['run', '--prompt', 'Once upon a time', '--max-tokens', '24', '--temperature', '0']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /no --model given; using the embedded model/);
    // Readable: mostly letters and spaces, not byte soup.
    const letters = r.stdout.replace(/[^A-Za-z ]/g, '').length;
    assert.ok(letters / Math.max(1, r.stdout.length) > 0.7, `readable text expected, got ${JSON.stringify(r.stdout)}`);
  });
});
