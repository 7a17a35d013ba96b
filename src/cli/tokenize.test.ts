import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCli } from '../../test/helpers/cli.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { GOLDEN_IDS, makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

// The tokenizer fixture holds config.json and the tokenizer files but no weights: tokenize must
// not need them.
describe('tessera tokenize', () => {
  let fixture: FixtureDir;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
  });
  after(() => fixture.dispose());

  it('--text prints ids as a JSON array', () => {
    const r = runCli(['tokenize', '--model', fixture.dir, '--text', 'Hello! I am DeepSeek.']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), [19923, 3, 342, 1030, 22651, 4374, 1465, 16]);
  });

  it('--messages applies the chat encoding with the generation prompt (DeepSeek-V3.2 golden ids)', async () => {
    const file = join(fixture.dir, 'messages.json');
    await writeFile(file, JSON.stringify([
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Hello! I am DeepSeek.', reasoning_content: 'thinking...' },
      { role: 'user', content: '1+1=?' },
    ]));
    const r = runCli(['tokenize', '--model', fixture.dir, '--messages', file, '--thinking']);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout), GOLDEN_IDS);
    const plain = runCli(['tokenize', '--model', fixture.dir, '--messages', file]);
    assert.equal((JSON.parse(plain.stdout) as number[]).at(-1), 128799, 'without --thinking the prompt ends in </think>');
  });

  it('reports actionable errors', async () => {
    const noTokenizer = runCli(['tokenize', '--model', fixturePath('v32-tiny-bf16'), '--text', 'x']);
    assert.equal(noTokenizer.code, 1);
    assert.match(noTokenizer.stderr, /has no tokenizer\.json/);
    const both = runCli(['tokenize', '--model', fixture.dir, '--text', 'x', '--messages', 'y.json']);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /exactly one of --text or --messages/);
    const bad = join(fixture.dir, 'bad.json');
    await writeFile(bad, '{"messages": [{"role": "robot", "content": "x"}]}');
    const role = runCli(['tokenize', '--model', fixture.dir, '--messages', bad]);
    assert.equal(role.code, 1);
    assert.match(role.stderr, /messages\[0\]\.role: must be one of/);
    const notJson = runCli(['tokenize', '--model', fixture.dir, '--messages', join(fixture.dir, 'tokenizer_config.json.missing')]);
    assert.equal(notJson.code, 2);
    assert.match(notJson.stderr, /cannot read --messages file .*ENOENT/);
  });
});
