// DeepSeek-R1 distills (Qwen2 / Llama / Qwen3 models with DeepSeek's tokens and chat template):
// special ids, BOS handling, chat prompts rendered by the real templates, and the tool-call format.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { chatEncodingSignals, createChatEncoder, detectChatEncoding, encodeChat } from './chat-encoding.js';
import type { ChatEncoder } from './chat-encoding.js';
import { JinjaChatTemplate } from './encoding-jinja.js';
import { normalizeMessages } from './messages.js';
import type { ChatMessageInput } from './messages.js';
import { parseTokenizerSettings } from './model-files.js';
import { loadTokenizer } from './tokenizer.js';
import type { LoadedTokenizer } from './tokenizer.js';
import { detectToolCallFormat, getToolCallFormat, parseToolCalls } from './tool-calls.js';
import {
  ASSISTANT, BOS, CONVERTER_FINGERPRINT, DISTILL_FLAVORS, DISTILL_IDS, EOS, USER, makeDistillModelDir, readTemplate,
} from '../../test/helpers/distill-tokenizers.js';
import type { DistillFlavor } from '../../test/helpers/distill-tokenizers.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

const TOOL_HISTORY: ChatMessageInput[] = [
  { role: 'user', content: 'Weather in Paris?' },
  { role: 'assistant', content: null, tool_calls: [{ id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
  { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
  { role: 'assistant', content: 'It is sunny.' },
  { role: 'user', content: 'Thanks' },
];

const TWO_CALLS: ChatMessageInput[] = [
  { role: 'user', content: 'Paris and Rome?' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [
      { id: 'c1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
      { id: 'c2', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Rome"}' } },
    ],
  },
  { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
  { role: 'tool', tool_call_id: 'c2', content: 'rain' },
];

const FENCED_PARIS = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>';

interface Loaded {
  readonly loaded: LoadedTokenizer;
  readonly encoder: ChatEncoder;
}

// Building a 150k-token tokenizer takes about a second, so each flavor is loaded once per file.
const fixtures: FixtureDir[] = [];
const cache = new Map<DistillFlavor, Promise<Loaded>>();
function distill(flavor: DistillFlavor): Promise<Loaded> {
  let entry = cache.get(flavor);
  if (entry === undefined) {
    entry = (async () => {
      const fixture = await makeDistillModelDir(flavor);
      fixtures.push(fixture);
      const loaded = await loadTokenizer(fixture.dir);
      return { loaded, encoder: createChatEncoder(loaded) };
    })();
    cache.set(flavor, entry);
  }
  return entry;
}
after(() => Promise.all(fixtures.map((f) => f.dispose())));

for (const flavor of DISTILL_FLAVORS) {
  describe(`${flavor} tokenizer`, () => {
    const ids = DISTILL_IDS[flavor];
    let loaded: LoadedTokenizer;
    before(async () => ({ loaded } = await distill(flavor)));

    it("has DeepSeek's BOS, EOS, turn and think tokens on their ids", () => {
      const t = loaded.tokenizer;
      assert.equal(t.vocabSize, ids.vocabSize);
      assert.equal(t.bosId, ids.bos);
      assert.deepEqual(t.eosIds, [ids.eos], 'generation ends at <｜end▁of▁sentence｜> only');
      assert.deepEqual(
        [BOS, EOS, USER, ASSISTANT, '<think>', '</think>'].map((s) => t.tokenToId(s)),
        [ids.bos, ids.eos, ids.user, ids.assistant, ids.thinkStart, ids.thinkEnd],
      );
    });

    it("reproduces the fingerprint llama.cpp's converter recorded for the release's tokenizer", async () => {
      const corpus = JSON.parse(await readFile(new URL('../../../test/fixtures/tokenizer/tokenizer-corpus.json', import.meta.url), 'utf8')) as Array<{ name: string; text: string }>;
      const chktxt = corpus.find((c) => c.name === 'llama-cpp-pre-tokenizer-check')?.text ?? '';
      const ids = loaded.tokenizer.encode(chktxt);
      // Python's str() of a list of ints
      const sha256 = createHash('sha256').update(`[${ids.join(', ')}]`).digest('hex');
      assert.equal(sha256, CONVERTER_FINGERPRINT[flavor].sha256, `as ${CONVERTER_FINGERPRINT[flavor].from}`);
    });

    it('keeps the think and turn markers when special tokens are skipped (they are not special)', () => {
      const t = loaded.tokenizer;
      const text = `${BOS}${USER}q${ASSISTANT}<think>\nr</think>a${EOS}`;
      assert.equal(t.decode(t.encode(text, { addSpecialTokens: false }), { skipSpecialTokens: true }), `${USER}q${ASSISTANT}<think>\nr</think>a`);
    });

    it('is a Jinja chat encoding whose tool calls are in the DeepSeek-V3 format', () => {
      const signals = chatEncodingSignals(loaded);
      assert.equal(signals.modelType, flavor === 'llama-distill' ? 'llama' : flavor === 'qwen-distill' ? 'qwen2' : 'qwen3');
      assert.equal(signals.hasThinkTokens, true);
      assert.equal(detectChatEncoding(signals), 'jinja', 'think tokens only mean V3.1+ for DeepSeek-V3 model types');
      const template = loaded.config.chatTemplates.get('default')?.template;
      assert.equal(detectToolCallFormat('jinja', template), 'deepseek-v3');
    });
  });
}

describe('R1-Distill chat prompts (Qwen and Llama)', () => {
  const cases = [
    ['qwen-distill', [151646, 50, 151644, 14990, 151645, 151648, 198]],
    ['llama-distill', [128000, 50, 128011, 15339, 128012, 128013, 198]],
  ] as const;
  for (const [flavor, goldenIds] of cases) {
    describe(flavor, () => {
      let loaded: LoadedTokenizer;
      let encoder: ChatEncoder;
      before(async () => ({ loaded, encoder } = await distill(flavor)));

      it('opens <think>\\n in the generation prompt, so the output starts as reasoning, whatever `thinking` says', () => {
        for (const thinking of [true, false]) {
          const p = encodeChat(loaded.tokenizer, encoder, { messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'hello' }], thinking });
          assert.equal(p.text, `${BOS}S${USER}hello${ASSISTANT}<think>\n`);
          assert.deepEqual(p.ids, goldenIds);
          assert.equal(p.startsInReasoning, true);
        }
      });

      it('has one BOS: from the template in chat prompts, added once to a raw prompt, never doubled', async () => {
        const chat = encodeChat(loaded.tokenizer, encoder, { messages: [{ role: 'user', content: 'hello' }], addGenerationPrompt: false });
        const [bos, user, hello] = [goldenIds[0], goldenIds[2], goldenIds[3]];
        assert.deepEqual(chat.ids, [bos, user, hello]);
        // transformers gives [bos, bos, ...] here (its post-processor adds one to the spelled-out BOS)
        assert.deepEqual(loaded.tokenizer.encode(chat.text), [bos, user, hello]);
        assert.deepEqual(loaded.tokenizer.encode('hello'), [bos, hello]);
        // the same without a BOS-adding post-processor in tokenizer.json (add_bos_token alone)
        const plain = await makeDistillModelDir(flavor, { bosPostProcessor: 'none' });
        try {
          const t = (await loadTokenizer(plain.dir)).tokenizer;
          assert.deepEqual(t.encode(chat.text), [bos, user, hello]);
          assert.deepEqual(t.encode('hello'), [bos, hello]);
        } finally {
          await plain.dispose();
        }
      });

      it('renders only the last system prompt, drops past reasoning, and writes tool calls fenced as in V3', () => {
        const multi = encoder.render({
          messages: [
            { role: 'system', content: 'A' },
            { role: 'system', content: 'B' },
            { role: 'user', content: 'hi' },
            { role: 'assistant', content: '<think>\nr\n</think>\n\nHello', reasoning_content: 'ignored' },
            { role: 'user', content: 'more' },
          ],
        });
        assert.equal(multi.text, `${BOS}B${USER}hi${ASSISTANT}\n\nHello${EOS}${USER}more${ASSISTANT}<think>\n`);
        const tools = encoder.render({ messages: TOOL_HISTORY });
        // The HF template closes the calls block only after a second call (so not here).
        assert.equal(
          tools.text,
          `${BOS}${USER}Weather in Paris?${ASSISTANT}${FENCED_PARIS}` +
            `<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁outputs▁end｜>It is sunny.${EOS}${USER}Thanks${ASSISTANT}<think>\n`,
        );
        const parsed = parseToolCalls(getToolCallFormat('deepseek-v3'), `${FENCED_PARIS}<｜tool▁calls▁end｜>`, () => 'id');
        assert.deepEqual(parsed.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Paris"}']]);
      });

      it('after tool outputs the model answers directly: no generation prompt, not in reasoning', () => {
        const p = encoder.render({ messages: TWO_CALLS });
        assert.ok(p.text.endsWith('<｜tool▁call▁end｜><｜tool▁calls▁end｜><｜end▁of▁sentence｜><｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜>\n<｜tool▁output▁begin｜>rain<｜tool▁output▁end｜><｜tool▁outputs▁end｜>'), p.text);
        assert.equal(p.startsInReasoning, false);
      });
    });
  }
});

describe('DeepSeek-R1-0528-Qwen3 chat prompts', () => {
  let loaded: LoadedTokenizer;
  let encoder: ChatEncoder;
  before(async () => ({ loaded, encoder } = await distill('r1-0528-qwen3')));

  it('ends at <｜Assistant｜>: the model opens <think> itself', () => {
    const p = encodeChat(loaded.tokenizer, encoder, { messages: [{ role: 'system', content: 'A' }, { role: 'system', content: 'B' }, { role: 'user', content: 'hello' }] });
    assert.equal(p.text, `${BOS}A\n\nB${USER}hello${ASSISTANT}`);
    assert.deepEqual(p.ids, [151643, 32, 271, 33, 151669, 14990, 151670]);
    assert.equal(p.startsInReasoning, false);
    assert.deepEqual(loaded.tokenizer.encode('hello'), [14990], 'add_bos_token is false: a raw prompt gets no BOS');
  });

  it('renders tool-call turns whose content is null (its template cannot test null, so they render as "")', () => {
    const p = encoder.render({ messages: TOOL_HISTORY });
    assert.equal(
      p.text,
      `${BOS}${USER}Weather in Paris?${ASSISTANT}${FENCED_PARIS}<｜tool▁calls▁end｜>${EOS}` +
        `<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁outputs▁end｜>It is sunny.${EOS}${USER}Thanks${ASSISTANT}`,
    );
  });
});

describe('R1-Distill template text', () => {
  it("renders exactly as llama.cpp's copy (models/templates/deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja)", async () => {
    const settings = parseTokenizerSettings('tokenizer_config.json', { bos_token: BOS, eos_token: EOS });
    const hf = new JinjaChatTemplate({ template: await readTemplate('deepseek-r1-distill.jinja'), origin: 'hf' }, settings);
    const llamaCpp = new JinjaChatTemplate({ template: await readTemplate('deepseek-r1-distill-llama-8b.llama-cpp.jinja'), origin: 'llama.cpp' }, settings);
    const conversations: ChatMessageInput[][] = [
      [{ role: 'user', content: 'hi' }],
      [{ role: 'system', content: 'A' }, { role: 'system', content: 'B' }, { role: 'user', content: 'hi' }, { role: 'assistant', content: 'x</think>y' }, { role: 'user', content: 'z' }],
      TOOL_HISTORY,
      TWO_CALLS,
    ];
    for (const conversation of conversations) {
      for (const addGenerationPrompt of [true, false]) {
        const input = { messages: normalizeMessages(conversation), tools: undefined, thinking: false, addGenerationPrompt, templateKwargs: undefined };
        assert.equal(hf.render(input), llamaCpp.render(input));
      }
    }
  });
});
