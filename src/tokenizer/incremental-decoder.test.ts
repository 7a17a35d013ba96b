import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IncrementalDecoder } from './incremental-decoder.js';
import { createTokenizer, loadTokenizer } from './tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from './model-files.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

const ADVERSARIAL = [
  'Hello 😀 world',
  '你好，世界！这是一个测试。',
  '👨‍👩‍👧‍👦 family, 🇯🇵 flag, 🏳️‍🌈',
  'café naïve 日本語のテキスト 한국어 ∑∫√ 𝔘𝔫𝔦𝔠𝔬𝔡𝔢',
  '  leading spaces\n\ttabs\r\n\n  end  ',
  'a😀b😀c😀😀😀',
  'ĠĊ literal byte-level glyphs ĠĠ',
];

function hasLoneSurrogate(s: string): boolean {
  return /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(s);
}

function streamAll(tokenizer: Tokenizer, ids: readonly number[], options = {}): string[] {
  const decoder = new IncrementalDecoder(tokenizer, options);
  const deltas = ids.map((id) => decoder.push(id));
  deltas.push(decoder.flush());
  return deltas;
}

// GPT-2 byte-level alphabet: printable bytes map to themselves, the rest to U+0100 onwards.
function byteLevelChar(byte: number): string {
  const printable = (b: number): boolean => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  if (printable(byte)) return String.fromCharCode(byte);
  let n = 0;
  for (let b = 0; b < byte; b++) if (!printable(b)) n++;
  return String.fromCharCode(256 + n);
}

describe('IncrementalDecoder on the DeepSeek byte-level vocabulary', () => {
  let fixture: FixtureDir;
  let tokenizer: Tokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    tokenizer = (await loadTokenizer(fixture.dir)).tokenizer;
  });
  after(() => fixture.dispose());

  it('holds back an emoji split across two tokens', () => {
    const ids = tokenizer.encode('😀', { addSpecialTokens: false });
    assert.deepEqual(ids, [28927, 225]);
    assert.deepEqual(streamAll(tokenizer, ids), ['', '😀', '']);
  });

  for (const text of ADVERSARIAL) {
    it(`streams ${JSON.stringify(text.slice(0, 24))} token by token without broken characters`, () => {
      const ids = tokenizer.encode(text, { addSpecialTokens: false });
      const deltas = streamAll(tokenizer, ids);
      assert.equal(deltas.join(''), text);
      for (const delta of deltas) {
        assert.ok(!delta.includes('\uFFFD'), `delta ${JSON.stringify(delta)} has U+FFFD`);
        assert.ok(!hasLoneSurrogate(delta));
      }
    });
  }

  it('assembles characters from single-byte tokens', () => {
    const bytes = [...new TextEncoder().encode('😀你a')];
    const ids = bytes.map((b) => tokenizer.tokenToId(byteLevelChar(b)));
    assert.ok(ids.every((id) => id !== undefined));
    assert.deepEqual(streamAll(tokenizer, ids as number[]), ['', '', '', '😀', '', '', '你', 'a', '']);
  });

  it('emits an invalid byte once a valid character follows, and flushes a dangling one', () => {
    const stray = tokenizer.tokenToId(byteLevelChar(0xf0)) as number;
    const a = tokenizer.tokenToId('a') as number;
    assert.deepEqual(streamAll(tokenizer, [stray, a]), ['', '\uFFFDa', '']);
    assert.deepEqual(streamAll(tokenizer, [a, stray]), ['a', '', '\uFFFD']);
  });

  it('skips special tokens but keeps the ones asked for', () => {
    const ids = [0, ...tokenizer.encode('Hi', { addSpecialTokens: false }), 1];
    assert.equal(streamAll(tokenizer, ids, { skipSpecialTokens: true }).join(''), 'Hi');
    assert.equal(streamAll(tokenizer, ids, { skipSpecialTokens: true, keepIds: new Set([1]) }).join(''), 'Hi<｜end▁of▁sentence｜>');
    assert.equal(streamAll(tokenizer, ids).join(''), '<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>');
  });

  it('accepts several ids per push and tracks the full text', () => {
    const decoder = new IncrementalDecoder(tokenizer);
    const ids = tokenizer.encode('ab 😀😀 cd', { addSpecialTokens: false });
    let out = '';
    for (let i = 0; i < ids.length; i += 3) out += decoder.push(ids.slice(i, i + 3));
    out += decoder.flush();
    assert.equal(out, 'ab 😀😀 cd');
    assert.equal(decoder.text, out);
  });
});

// A tiny Llama-2 style SentencePiece BPE with byte fallback: "▁" marks spaces, unknown characters
// become <0xXX> byte tokens, and the decoder strips the first leading space.
function byteFallbackTokenizer(): Tokenizer {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let b = 0; b < 256; b++) vocab[`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + b;
  Object.assign(vocab, { '▁': 259, a: 260, b: 261, '▁a': 262, '▁b': 263 });
  const special = (id: number, content: string): Record<string, unknown> => ({
    id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true,
  });
  const json = {
    version: '1.0',
    added_tokens: [special(0, '<unk>'), special(1, '<s>'), special(2, '</s>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [{ type: 'Prepend', prepend: '▁' }, { type: 'Replace', pattern: { String: ' ' }, content: '▁' }],
    },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE', dropout: null, unk_token: '<unk>', continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: true, byte_fallback: true, vocab, merges: ['▁ a', '▁ b'],
    },
  };
  const files = {
    tokenizerConfig: parseTokenizerSettings('tokenizer_config.json', { bos_token: '<s>', eos_token: '</s>', add_bos_token: true }),
    generation: parseGenerationDefaults(undefined, undefined),
    model: parseModelInfo(undefined, undefined),
  };
  return createTokenizer('tokenizer.json', json, files);
}

describe('IncrementalDecoder on a byte-fallback (SentencePiece) vocabulary', () => {
  const tokenizer = byteFallbackTokenizer();

  it('uses byte tokens for unknown characters', () => {
    assert.deepEqual(tokenizer.encode('a é'), [1, 262, 259, 3 + 0xc3, 3 + 0xa9]);
    assert.equal(tokenizer.decode([262, 259, 3 + 0xc3, 3 + 0xa9]), 'a é');
  });

  it('never emits half of a multi-byte character', () => {
    const text = 'a 😀b 你 a';
    const ids = tokenizer.encode(text, { addSpecialTokens: false });
    const deltas = streamAll(tokenizer, ids);
    assert.equal(deltas.join(''), text);
    assert.ok(deltas.every((d) => !d.includes('\uFFFD') && !hasLoneSurrogate(d)));
    // "▁a" then "▁" + four byte tokens of 😀: nothing until the fourth byte.
    assert.deepEqual(deltas.slice(0, 7), ['a', ' ', '', '', '', '😀', 'b']);
  });

  it('keeps the space of the first generated token when the prompt gives left context', () => {
    const prompt = tokenizer.encode('b');
    assert.deepEqual(prompt, [1, 263]);
    assert.equal(streamAll(tokenizer, [262]).join(''), 'a', 'without context the leading space is stripped');
    assert.equal(streamAll(tokenizer, [262], { promptIds: prompt }).join(''), ' a');
  });
});
