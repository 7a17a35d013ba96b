import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadTokenizer } from './tokenizer.js';
import type { LoadedTokenizer } from './tokenizer.js';
import { TokenizerFileError } from './errors.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { GOLDEN_IDS, GOLDEN_TEXT } from '../../test/helpers/tokenizer-fixture.js';


describe('DeepSeek tokenizer (V3.2 vocabulary)', () => {
  let fixture: FixtureDir;
  let loaded: LoadedTokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    loaded = await loadTokenizer(fixture.dir);
  });
  after(() => fixture.dispose());

  it('encodes the README golden conversation exactly', () => {
    assert.deepEqual(loaded.tokenizer.encode(GOLDEN_TEXT, { addSpecialTokens: false }), GOLDEN_IDS);
  });

  it('does not add BOS when add_bos_token is false', () => {
    assert.deepEqual(loaded.tokenizer.encode('hello'), [33310]);
  });

  it('round-trips the golden ids, and drops only special tokens when asked', () => {
    const t = loaded.tokenizer;
    assert.equal(t.decode(GOLDEN_IDS), GOLDEN_TEXT);
    assert.equal(
      t.decode(GOLDEN_IDS, { skipSpecialTokens: true }),
      '<｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek.<｜User｜>1+1=?<｜Assistant｜><think>',
    );
    assert.equal(t.decode([0, 19923, 1], { skipSpecialTokens: true, keepIds: new Set([1]) }), 'Hello<｜end▁of▁sentence｜>');
  });

  it('exposes vocabulary metadata', () => {
    const t = loaded.tokenizer;
    assert.equal(t.vocabSize, 128815);
    assert.equal(t.bosId, 0);
    assert.deepEqual(t.eosIds, [1]);
    assert.equal(t.tokenToId('</think>'), 128799);
    assert.equal(t.idToToken(128798), '<think>');
    assert.equal(t.tokenToId('<｜tool▁sep｜>'), 128814);
    assert.ok(t.specialIds.has(0) && t.specialIds.has(1) && t.specialIds.has(2));
    assert.ok(!t.specialIds.has(128799), '</think> must survive skipSpecialTokens');
    assert.ok(!t.specialIds.has(128806), 'tool-call markers must survive skipSpecialTokens');
  });

  it('reads generation_config.json and has no chat template', () => {
    assert.equal(loaded.generation.temperature, 1.0);
    assert.equal(loaded.generation.topP, 0.95);
    assert.equal(loaded.model.modelType, 'deepseek_v32');
    assert.equal(loaded.config.chatTemplates.size, 0);
    assert.equal(loaded.config.addBosToken, false);
  });

  it('keeps spaces around punctuation (clean_up_tokenization_spaces is false)', () => {
    const t = loaded.tokenizer;
    const text = "a , b . c 's n't";
    assert.equal(t.decode(t.encode(text)), text);
  });
});

describe('DeepSeek tokenizer (original V3 vocabulary)', () => {
  let fixture: FixtureDir;
  let loaded: LoadedTokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v3');
    loaded = await loadTokenizer(fixture.dir);
  });
  after(() => fixture.dispose());

  it('adds BOS because tokenizer_config says add_bos_token', () => {
    assert.deepEqual(loaded.tokenizer.encode('hello'), [0, 33310]);
    assert.deepEqual(loaded.tokenizer.encode('hello', { addSpecialTokens: false }), [33310]);
    assert.deepEqual(loaded.tokenizer.encode('<｜begin▁of▁sentence｜>hello'), [0, 33310], 'BOS is never doubled');
  });

  it('splits </think> into plain tokens because V3 has no such token', () => {
    assert.deepEqual(loaded.tokenizer.encode('</think>', { addSpecialTokens: false }), [1718, 37947, 32]);
    assert.ok(loaded.config.chatTemplates.has('default'));
  });
});

describe('loadTokenizer errors', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tessera-tok-err-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  it('names the missing tokenizer.json', async () => {
    await assert.rejects(loadTokenizer(dir), (err: unknown) => {
      assert.ok(err instanceof TokenizerFileError);
      assert.equal(err.path, join(dir, 'tokenizer.json'));
      assert.equal(err.problem, 'missing');
      return true;
    });
  });

  it('names the invalid JSON file', async () => {
    await writeFile(join(dir, 'tokenizer.json'), '{"model": ');
    await assert.rejects(loadTokenizer(dir), (err: unknown) => {
      assert.ok(err instanceof TokenizerFileError);
      assert.equal(err.problem, 'invalid-json');
      assert.match(err.message, /tokenizer\.json/);
      return true;
    });
  });

  it('names the bad key in tokenizer_config.json and generation_config.json', async () => {
    const minimal = {
      model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] },
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: null,
      post_processor: null,
      decoder: null,
    };
    await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(minimal));
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ add_bos_token: 'yes' }));
    await assert.rejects(loadTokenizer(dir), (err: unknown) => {
      assert.ok(err instanceof TokenizerFileError);
      assert.equal(err.key, 'add_bos_token');
      assert.equal(err.path, join(dir, 'tokenizer_config.json'));
      return true;
    });
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: 'zzz' }));
    await assert.rejects(loadTokenizer(dir), (err: unknown) => err instanceof TokenizerFileError && err.key === 'eos_token');
    await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify({ eos_token: 'b' }));
    await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [1, 'x'] }));
    await assert.rejects(loadTokenizer(dir), (err: unknown) => {
      assert.ok(err instanceof TokenizerFileError);
      assert.equal(err.key, 'eos_token_id');
      assert.equal(err.path, join(dir, 'generation_config.json'));
      return true;
    });
    await writeFile(join(dir, 'generation_config.json'), JSON.stringify({ eos_token_id: [1], temperature: 0.6 }));
    const loaded = await loadTokenizer(dir);
    assert.deepEqual(loaded.tokenizer.eosIds, [1]);
    assert.equal(loaded.generation.temperature, 0.6);
    assert.deepEqual(loaded.tokenizer.encode('ab'), [0, 1]);
  });
});

it('decoding no ids gives the empty string', async () => {
  const fixture = await makeDeepSeekModelDir('v32');
  try {
    const { tokenizer } = await loadTokenizer(fixture.dir);
    assert.equal(tokenizer.decode([]), '');
    assert.equal(tokenizer.decode([0], { skipSpecialTokens: true }), '');
  } finally {
    await fixture.dispose();
  }
});
