// A GGUF file's own tokenizer (its tokenizer.* metadata) for the R1 distill vocabularies, laid out
// as convert_hf_to_gguf.py writes them: token ids equal llama.cpp's (node-llama-cpp's prebuilt
// binary on the same file) on the tokenizer corpus, and the special ids, BOS handling, decoding and
// chat prompts equal those of the Hugging Face directory the file was converted from.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile } from '../formats/gguf.js';
import { createChatEncoder, encodeChat } from './chat-encoding.js';
import { createGgufTokenizer } from './gguf-tokenizer.js';
import type { ChatMessageInput } from './messages.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from './model-files.js';
import { createTokenizer } from './tokenizer.js';
import type { LoadedTokenizer } from './tokenizer.js';
import { BOS, DISTILL_FLAVORS, DISTILL_IDS, distillSideFiles, distillTokenizerJson } from '../../test/helpers/distill-tokenizers.js';
import type { DistillFlavor } from '../../test/helpers/distill-tokenizers.js';
import { llamaCppTokenizeFiles, useDistillTokenizer } from '../../test/helpers/gguf-vocab-files.js';
import { ggufVocab, writeVocabModel } from '../../test/helpers/llama-cpp-tokenizer.js';
import type { LlamaCppTokens } from '../../test/helpers/llama-cpp-tokenizer.js';

interface CorpusEntry {
  readonly name: string;
  readonly text: string;
}

// llama.cpp has no normalizer, and neither has a GGUF tokenizer here: on text that is not NFC the
// ids follow llama.cpp, not the Qwen tokenizer.json's NFC step.
const NOT_NFC: readonly CorpusEntry[] = [
  { name: 'combining-accents', text: 'Cafe\u0301 e\u0301te\u0301 n\u0303' },
  { name: 'compatibility-forms', text: '\u212B \uFB01 \uFF21\uFF22 \u2126' },
];

const CHAT: ChatMessageInput[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: 'sunny, 24 °C' },
  { role: 'assistant', content: '<think>\nEasy.\n</think>\n\nSunny.' },
  { role: 'user', content: 'Thanks! 谢谢 🙂' },
];

const CORPUS_URL = new URL('../../../test/fixtures/tokenizer/tokenizer-corpus.json', import.meta.url);

let workDir: string;
let corpus: readonly CorpusEntry[];
let texts: readonly string[];
const files = new Map<DistillFlavor, string>();
let theirs: readonly LlamaCppTokens[];

before(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'tessera-gguf-tokenizer-'));
  corpus = JSON.parse(await readFile(CORPUS_URL, 'utf8')) as CorpusEntry[];
  texts = [...corpus, ...NOT_NFC].map((c) => c.text);
  for (const flavor of DISTILL_FLAVORS) {
    const path = join(workDir, `${flavor}.gguf`);
    const ids = DISTILL_IDS[flavor];
    await writeVocabModel(path, ggufVocab(await distillTokenizerJson(flavor)), { pre: 'default', bosId: ids.bos, eosId: ids.eos, addBos: false });
    await useDistillTokenizer(path, flavor); // the converter's keys, chat template included
    files.set(flavor, path);
  }
  // One llama.cpp instance loads the three vocabularies in turn (1.5-2 s each).
  theirs = await llamaCppTokenizeFiles(DISTILL_FLAVORS.map((f) => files.get(f)!), texts);
});
after(() => rm(workDir, { recursive: true, force: true }));

function fromGguf(path: string): LoadedTokenizer {
  const file = GgufFile.open(path);
  try {
    return createGgufTokenizer(path, file.metadata);
  } finally {
    file.close();
  }
}

async function fromHf(flavor: DistillFlavor): Promise<LoadedTokenizer> {
  const side = await distillSideFiles(flavor);
  const files = {
    tokenizerConfig: parseTokenizerSettings('tokenizer_config.json', side['tokenizer_config.json'] ?? {}),
    generation: parseGenerationDefaults('generation_config.json', side['generation_config.json']),
    model: parseModelInfo('config.json', side['config.json']),
  };
  const tokenizer = createTokenizer('tokenizer.json', await distillTokenizerJson(flavor), files);
  return { dir: 'hf', tokenizer, config: files.tokenizerConfig, generation: files.generation, model: files.model };
}

DISTILL_FLAVORS.forEach((flavor, f) => {
  describe(`${flavor} GGUF tokenizer`, () => {
    const ids = DISTILL_IDS[flavor];
    let gguf: LoadedTokenizer;
    let hf: LoadedTokenizer;
    before(async () => {
      gguf = fromGguf(files.get(flavor)!);
      hf = await fromHf(flavor);
    });

    it("ids equal llama.cpp's on every corpus text (special tokens parsed, text not NFC included), BOS as llama.cpp adds it", () => {
      const llama = theirs[f]!;
      texts.forEach((text, i) => assert.deepEqual(gguf.tokenizer.encode(text, { addSpecialTokens: false }), llama.ids[i], [...corpus, ...NOT_NFC][i]!.name));
      assert.equal(llama.bos, ids.bos);
      assert.equal(gguf.tokenizer.bosId, ids.bos);
      assert.equal(llama.addsBos, flavor !== 'r1-0528-qwen3');
      texts.forEach((text, i) => {
        if (text.startsWith(BOS)) return; // llama.cpp would double it; Tessera keeps one
        assert.deepEqual(gguf.tokenizer.encode(text), llama.addsBos ? [ids.bos, ...llama.ids[i]!] : llama.ids[i]);
      });
    });

    it('has the directory’s vocabulary, special tokens and decoding; EOS plus llama.cpp’s end-of-generation tokens', () => {
      assert.equal(gguf.tokenizer.vocabSize, hf.tokenizer.vocabSize);
      assert.equal(gguf.tokenizer.tokenToId('<think>'), ids.thinkStart);
      assert.equal(gguf.tokenizer.tokenToId('<｜User｜>'), ids.user);
      assert.equal(gguf.tokenizer.eosIds[0], ids.eos);
      // Llama 3's <|eot_id|> (a control token) ends generation in llama.cpp; the Qwen vocabularies
      // have no other control token llama.cpp stops at (Qwen's BPE token "</s>" is plain text).
      assert.deepEqual(gguf.tokenizer.eosIds.slice(1), flavor === 'llama-distill' ? [128009] : []);
      assert.ok(gguf.tokenizer.specialIds.has(ids.bos) && gguf.tokenizer.specialIds.has(ids.user), 'control tokens are special');
      assert.ok(!gguf.tokenizer.specialIds.has(ids.thinkStart), '<think> is user-defined: kept by skip_special_tokens');
      // The converter marks <｜User｜> CONTROL although tokenizer.json says special: false.
      assert.equal(gguf.tokenizer.decode([ids.user, ids.thinkStart], { skipSpecialTokens: true }), '<think>');
      for (const text of texts) {
        const t = hf.tokenizer.encode(text, { addSpecialTokens: false });
        assert.equal(gguf.tokenizer.decode(t), hf.tokenizer.decode(t));
      }
    });

    it('renders the chat template from tokenizer.chat_template to the same prompt ids as the directory', () => {
      const ours = encodeChat(gguf.tokenizer, createChatEncoder(gguf), { messages: CHAT });
      const reference = encodeChat(hf.tokenizer, createChatEncoder(hf), { messages: CHAT });
      assert.equal(ours.text, reference.text);
      assert.deepEqual(ours.ids, reference.ids);
      assert.equal(ours.startsInReasoning, flavor !== 'r1-0528-qwen3');
      assert.equal(gguf.config.chatTemplates.get('default')?.origin, `${files.get(flavor)}#tokenizer.chat_template`);
    });
  });
});
