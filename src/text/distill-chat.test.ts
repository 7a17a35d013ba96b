// The R1 distills through the text layer with their real tokenizers: chat prompts (buildChatPrompt)
// and the output pipeline fed the token ids such a model would generate, one at a time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { makeDistillModelDir, DISTILL_IDS } from '../../test/helpers/distill-tokenizers.js';
import type { DistillFlavor } from '../../test/helpers/distill-tokenizers.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import type { ToolDefinition } from '../tokenizer/index.js';
import { buildChatPrompt } from './chat-prompt.js';
import type { ChatPrompt } from './chat-prompt.js';
import { OutputProcessor } from './output-processor.js';
import type { TextDelta } from './output-processor.js';
import { loadTextTokenizer } from './text-model.js';
import type { TextTokenizer } from './text-model.js';

const WEATHER: ToolDefinition = {
  type: 'function',
  function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } },
};

const CALL = '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>';

interface Output {
  readonly reasoning: string;
  readonly content: string;
  readonly calls: ReadonlyArray<readonly [string, string]>;
}

/** Streams `generated` (as the model's token ids, then EOS) through the chat's output pipeline. */
function generate(text: TextTokenizer, flavor: DistillFlavor, prompt: ChatPrompt, generated: string): Output {
  const eos = DISTILL_IDS[flavor].eos;
  const ids = [...text.tokenizer.encode(generated, { addSpecialTokens: false }), eos];
  const p = new OutputProcessor({
    tokenizer: text.tokenizer,
    promptIds: prompt.ids,
    finishIds: new Set(text.tokenizer.eosIds),
    reasoning: { startsInReasoning: prompt.startsInReasoning },
    toolFormat: prompt.toolFormat,
    toolPrefix: prompt.toolPrefix,
  });
  const deltas: TextDelta[] = [];
  ids.forEach((id, i) => {
    p.advance(i, id);
    deltas.push(p.takeThrough(i));
  });
  deltas.push(p.finish());
  return {
    reasoning: deltas.map((d) => d.reasoning).join(''),
    content: deltas.map((d) => d.content).join(''),
    calls: p.toolCalls.map((c) => [c.function.name, c.function.arguments] as const),
  };
}

const fixtures: FixtureDir[] = [];
after(() => Promise.all(fixtures.map((f) => f.dispose())));
async function textTokenizer(flavor: DistillFlavor): Promise<TextTokenizer> {
  const fixture = await makeDistillModelDir(flavor);
  fixtures.push(fixture);
  return loadTextTokenizer(fixture.dir);
}

describe('R1-Distill-Qwen through the text layer', () => {
  let text: TextTokenizer;
  before(async () => (text = await textTokenizer('qwen-distill')));

  it('answers start as reasoning and split at </think>; EOS ends the output unseen', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: '1+1?' }] });
    assert.ok(prompt.text.endsWith('<｜Assistant｜><think>\n'));
    assert.equal(prompt.startsInReasoning, true);
    const out = generate(text, 'qwen-distill', prompt, 'Two ones make two.\n</think>\n\nThe answer is **2**.');
    assert.equal(out.reasoning, 'Two ones make two.\n');
    assert.equal(out.content, '\n\nThe answer is **2**.');
  });

  it('parses V3-style tool calls whose markers are plain text in this vocabulary (many tokens each)', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER] });
    assert.equal(prompt.toolFormat?.name, 'deepseek-v3');
    assert.equal(text.tokenizer.tokenToId('<｜tool▁calls▁begin｜>'), undefined, 'not a token of the distill vocabulary');
    const out = generate(text, 'qwen-distill', prompt, `I should call the tool.\n</think>\n\n${CALL}`);
    assert.equal(out.reasoning, 'I should call the tool.\n');
    assert.equal(out.content.trim(), '');
    assert.deepEqual(out.calls, [['get_weather', '{"city": "Paris"}']]);
  });

  it('a forced tool call closes the think block the template opened, then writes the call opening', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER], toolChoice: { name: 'get_weather' } });
    assert.ok(prompt.text.endsWith('<｜Assistant｜><think>\n</think>\n\n<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n'), prompt.text);
    assert.equal(prompt.startsInReasoning, false);
    assert.ok(!prompt.toolPrefix.includes('</think>'), 'the parser reads only the call opening');
    const out = generate(text, 'qwen-distill', prompt, '{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>');
    assert.equal(out.content, '');
    assert.deepEqual(out.calls, [['get_weather', '{"city": "Paris"}']]);
  });
});

describe('R1-Distill-Llama through the text layer', () => {
  let text: TextTokenizer;
  before(async () => (text = await textTokenizer('llama-distill')));

  it('starts in reasoning and splits at </think>', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: 'Say hi in Japanese.' }] });
    assert.deepEqual(prompt.ids.slice(0, 2), [128000, 128011], 'one BOS, then <｜User｜>');
    assert.deepEqual(prompt.ids.slice(-3), [128012, 128013, 198], '<｜Assistant｜><think>\\n');
    const out = generate(text, 'llama-distill', prompt, 'Konnichiwa 🙂 is common.\n</think>\n\nこんにちは！');
    assert.equal(out.reasoning, 'Konnichiwa 🙂 is common.\n');
    assert.equal(out.content, '\n\nこんにちは！');
  });
});

describe('DeepSeek-R1-0528-Qwen3 through the text layer', () => {
  let text: TextTokenizer;
  before(async () => (text = await textTokenizer('r1-0528-qwen3')));

  it('the prompt ends at <｜Assistant｜>; the <think> the model writes opens the reasoning', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: '1+1?' }] });
    assert.deepEqual(prompt.ids, [151643, 151669, 16, 10, 16, 30, 151670]);
    assert.equal(prompt.startsInReasoning, false);
    const out = generate(text, 'r1-0528-qwen3', prompt, '<think>\nTwo ones.\n</think>\n\n2');
    assert.equal(out.reasoning, '\nTwo ones.\n');
    assert.equal(out.content, '\n\n2');
  });

  it('tool calls after reasoning', () => {
    const prompt = buildChatPrompt(text, { messages: [{ role: 'user', content: 'Weather in Paris?' }], tools: [WEATHER] });
    assert.equal(prompt.toolFormat?.name, 'deepseek-v3');
    const out = generate(text, 'r1-0528-qwen3', prompt, `<think>\nUse the tool.\n</think>\n\n${CALL}`);
    assert.equal(out.reasoning, '\nUse the tool.\n');
    assert.deepEqual(out.calls, [['get_weather', '{"city": "Paris"}']]);
  });
});
