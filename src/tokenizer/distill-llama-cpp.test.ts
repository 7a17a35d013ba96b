// Token ids of the R1 distill tokenizers equal llama.cpp's own tokenizer (node-llama-cpp 3.21.1,
// prebuilt CPU binary) on a corpus of English, code, CJK and other scripts, emoji, numbers,
// whitespace runs and special tokens (test/fixtures/tokenizer/tokenizer-corpus.json). llama.cpp
// reads the vocabulary from a GGUF laid out as convert_hf_to_gguf.py writes it, with the `pre`
// name the converter detects for each release.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTokenizer } from './tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from './model-files.js';
import { BOS, DISTILL_FLAVORS, DISTILL_IDS, LLAMA_CPP_PRE, distillSideFiles, distillTokenizerJson } from '../../test/helpers/distill-tokenizers.js';
import type { DistillFlavor, TokenizerJson } from '../../test/helpers/distill-tokenizers.js';
import { ggufVocab, llamaCppTokenizeAll, writeVocabModel } from '../../test/helpers/llama-cpp-tokenizer.js';
import type { LlamaCppTokens } from '../../test/helpers/llama-cpp-tokenizer.js';

interface CorpusEntry {
  readonly name: string;
  readonly text: string;
}

const CORPUS_URL = new URL('../../../test/fixtures/tokenizer/tokenizer-corpus.json', import.meta.url);

// Qwen's tokenizer.json normalizes to NFC; llama.cpp has no normalizer for these vocabularies, so
// on text that is not NFC the two differ. Tessera follows tokenizer.json (as transformers does);
// these entries check that the only difference is that NFC step.
const NOT_NFC: readonly CorpusEntry[] = [
  { name: 'combining-accents', text: 'Cafe\u0301 e\u0301te\u0301 n\u0303' },
  { name: 'compatibility-forms', text: '\u212B \uFB01 \uFF21\uFF22 \u2126' },
];

let workDir: string;
let corpus: readonly CorpusEntry[];
before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tessera-llama-cpp-vocab-'));
  corpus = JSON.parse(await readFile(CORPUS_URL, 'utf8')) as CorpusEntry[];
});
after(() => rm(workDir, { recursive: true, force: true }));

function hasNfc(tokenizer: TokenizerJson): boolean {
  return JSON.stringify(tokenizer['normalizer'] ?? null).includes('"NFC"');
}

async function writeGgufFor(flavor: DistillFlavor, tokenizer: TokenizerJson, pre: string): Promise<string> {
  const path = join(workDir, `${flavor}-${pre}.gguf`);
  const ids = DISTILL_IDS[flavor];
  await writeVocabModel(path, ggufVocab(tokenizer), { pre, bosId: ids.bos, eosId: ids.eos, addBos: flavor !== 'r1-0528-qwen3' });
  return path;
}

// Straight from the JSON objects: writing and re-reading a 10 MB tokenizer.json would only cost time.
async function tessera(flavor: DistillFlavor, tokenizer: TokenizerJson): Promise<Tokenizer> {
  const side = await distillSideFiles(flavor);
  return createTokenizer('tokenizer.json', tokenizer, {
    tokenizerConfig: parseTokenizerSettings('tokenizer_config.json', side['tokenizer_config.json'] ?? {}),
    generation: parseGenerationDefaults('generation_config.json', side['generation_config.json']),
    model: parseModelInfo('config.json', side['config.json']),
  });
}

for (const flavor of DISTILL_FLAVORS) {
  describe(`${flavor} token ids equal llama.cpp's (pre = ${LLAMA_CPP_PRE[flavor]})`, () => {
    let ours: Tokenizer;
    let nfc: boolean;
    let theirs: LlamaCppTokens;
    let theirsNotNfc: readonly number[][];
    before(async () => {
      const tokenizer = await distillTokenizerJson(flavor);
      nfc = hasNfc(tokenizer);
      let gguf: string;
      [ours, gguf] = await Promise.all([tessera(flavor, tokenizer), writeGgufFor(flavor, tokenizer, LLAMA_CPP_PRE[flavor])]);
      // One load of the vocabulary (1.5-2 s for 150k tokens) serves both tests.
      const all = await llamaCppTokenizeAll(gguf, [...corpus.map((c) => c.text), ...NOT_NFC.map((c) => (nfc ? c.text.normalize('NFC') : c.text))]);
      theirs = { ...all, ids: all.ids.slice(0, corpus.length) };
      theirsNotNfc = all.ids.slice(corpus.length);
    });
    const plain = (text: string): number[] => ours.encode(text, { addSpecialTokens: false });

    it('on every corpus text, special tokens parsed', () => {
      corpus.forEach((c, i) => assert.deepEqual(plain(c.text), theirs.ids[i], c.name));
      const chat = corpus.find((c) => c.name === 'special-chat');
      assert.ok(chat !== undefined && plain(chat.text).includes(DISTILL_IDS[flavor].thinkEnd), 'the corpus exercises the special tokens');

      // BOS as llama_tokenize's add_special adds it, for texts that do not spell BOS out (llama.cpp
      // would then double it; Tessera keeps one, see distill-chat.test.ts).
      assert.equal(theirs.bos, DISTILL_IDS[flavor].bos);
      assert.equal(theirs.addsBos, flavor !== 'r1-0528-qwen3');
      corpus.forEach((c, i) => {
        if (c.text.startsWith(BOS)) return;
        const expected = theirs.addsBos ? [DISTILL_IDS[flavor].bos, ...(theirs.ids[i] ?? [])] : theirs.ids[i];
        assert.deepEqual(ours.encode(c.text), expected, `${c.name} with special tokens added`);
      });
    });

    it('on text that is not NFC, up to the NFC normalizer of the Qwen vocabularies', () => {
      assert.equal(nfc, flavor !== 'llama-distill');
      NOT_NFC.forEach((c, i) => assert.deepEqual(plain(c.text), theirsNotNfc[i], c.name));
    });
  });
}

describe('the llama.cpp comparison can fail', () => {
  it("disagrees when the GGUF names another pre-tokenizer ('default' instead of 'deepseek-r1-qwen')", async () => {
    const tokenizer = await distillTokenizerJson('qwen-distill');
    const [ours, gguf] = await Promise.all([tessera('qwen-distill', tokenizer), writeGgufFor('qwen-distill', tokenizer, 'default')]);
    const theirs = await llamaCppTokenizeAll(gguf, corpus.map((c) => c.text));
    const differing = corpus.filter((c, i) => JSON.stringify(ours.encode(c.text, { addSpecialTokens: false })) !== JSON.stringify(theirs.ids[i]));
    assert.ok(differing.length >= 5, `only ${differing.length} corpus texts tell the pre-tokenizers apart`);
  });
});
