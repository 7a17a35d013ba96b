import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LLMEngine, normalizeSamplingParams } from '../engine/index.js';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { ScriptedModel } from '../../test/helpers/scripted-model.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { buildChatPrompt } from './chat-prompt.js';
import { generateText } from './generate.js';
import type { TextEvent, TextFinishEvent, TextRequest } from './generate.js';
import { scorePrompt } from './prompt-logprobs.js';
import { createTextModel, loadTextTokenizer } from './text-model.js';
import type { TextModel, TextTokenizer } from './text-model.js';

const GREEDY = normalizeSamplingParams({ temperature: 0 });

async function collect(stream: AsyncIterable<TextEvent>): Promise<{ content: string; reasoning: string; tokens: number[]; finish: TextFinishEvent }> {
  let content = '';
  let reasoning = '';
  const tokens: number[] = [];
  for await (const ev of stream) {
    const d = ev.delta;
    content += d.content;
    reasoning += d.reasoning;
    if (ev.type === 'delta') tokens.push(...ev.tokens.map((t) => t.id));
    else return { content, reasoning, tokens, finish: ev };
  }
  throw new Error('no finish event');
}

describe('generateText on a scripted model (DeepSeek V3.2 tokenizer)', () => {
  let fixture: FixtureDir;
  let text: TextTokenizer;
  let model: ScriptedModel;
  let tm: TextModel;
  const script = (s: string) => (model.script = text.tokenizer.encode(s, { addSpecialTokens: false }));
  const request = (promptIds: readonly number[], extra: Partial<TextRequest> = {}): TextRequest => ({ promptIds, sampling: GREEDY, maxTokens: 64, ...extra });

  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    text = await loadTextTokenizer(fixture.dir);
    model = new ScriptedModel([], { vocabSize: 129280, eosTokenId: 1 });
    tm = createTextModel(text, model, { engine: { kvCacheTokens: 4096, blockSize: 16 } });
  });
  after(async () => {
    await tm.close();
    await fixture.dispose();
  });

  it('a stop string ends the request in the step that completes it', async () => {
    script('Hello world, this is the END of it and much more text that must never be generated');
    const prompt = text.tokenizer.encode('Say something', { addSpecialTokens: false });
    const calls = model.forwardCalls;
    const r = await collect(generateText(tm, request(prompt, { stop: ['END'] })));
    assert.equal(r.content, 'Hello world, this is the ');
    assert.equal(r.finish.finishReason, 'stop');
    assert.equal(r.finish.stopReason, 'END');
    const endAt = text.tokenizer.encode('Hello world, this is the END', { addSpecialTokens: false }).length;
    assert.equal(r.finish.usage.completionTokens, endAt, 'no token after the one that completed the stop string');
    assert.equal(model.forwardCalls - calls, endAt, 'one forward per generated token, none after the stop');
    assert.equal(tm.engine.stats().kvCacheUsage, 0);
  });

  it('EOS ends with finish_reason stop and stop_reason null; max_tokens with length', async () => {
    script('Short answer.');
    const prompt = [0, 100, 200];
    const eos = await collect(generateText(tm, request(prompt)));
    assert.equal(eos.content, 'Short answer.');
    assert.deepEqual([eos.finish.finishReason, eos.finish.stopReason], ['stop', null]);
    assert.equal(eos.finish.usage.completionTokens, eos.tokens.length);
    assert.equal(eos.tokens.at(-1), 1, 'the EOS token is counted but not decoded');
    const len = await collect(generateText(tm, request(prompt, { maxTokens: 2 })));
    assert.equal(len.finish.finishReason, 'length');
    assert.equal(len.content, 'Short answer');
  });

  it('thinking mode splits reasoning from content', async () => {
    script('The user greets me.</think>Hello there!');
    const p = buildChatPrompt(tm, { messages: [{ role: 'user', content: 'hi' }], thinking: true });
    assert.equal(p.startsInReasoning, true);
    const r = await collect(generateText(tm, request(p.ids, { reasoning: { startsInReasoning: p.startsInReasoning } })));
    assert.equal(r.reasoning, 'The user greets me.');
    assert.equal(r.content, 'Hello there!');
  });

  it('DSML tool calls end with finish_reason tool_calls', async () => {
    script('\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>');
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }];
    const p = buildChatPrompt(tm, { messages: [{ role: 'user', content: 'weather?' }], tools });
    assert.equal(p.toolFormat?.name, 'deepseek-v32');
    const r = await collect(generateText(tm, request(p.ids, { toolFormat: p.toolFormat })));
    assert.equal(r.finish.finishReason, 'tool_calls');
    assert.equal(r.content, '');
    assert.deepEqual(r.finish.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Paris"}']]);
  });

  it('a named tool_choice forces the call into the prompt', async () => {
    script('<｜DSML｜parameter name="city" string="true">Rome</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>');
    const tools = [{ type: 'function' as const, function: { name: 'get_weather' } }, { type: 'function' as const, function: { name: 'get_time' } }];
    const p = buildChatPrompt(tm, { messages: [{ role: 'user', content: 'weather?' }], tools, toolChoice: { name: 'get_weather' }, thinking: true });
    assert.ok(p.text.endsWith('<｜DSML｜invoke name="get_weather">\n'));
    assert.equal(p.startsInReasoning, false);
    const r = await collect(generateText(tm, request(p.ids, { toolFormat: p.toolFormat, toolPrefix: p.toolPrefix })));
    assert.deepEqual(r.finish.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Rome"}']]);
    assert.throws(() => buildChatPrompt(tm, { messages: [{ role: 'user', content: 'x' }], tools, toolChoice: { name: 'nope' } }), /not among the tools/);
  });

  it('abort ends a running request and frees its blocks', async () => {
    script('a b c d e f g h i j k l m n o p q r s t u v w x y z '.repeat(4));
    const stream = generateText(tm, request([0, 5, 6], { maxTokens: 100 }));
    let n = 0;
    let finish: TextFinishEvent | undefined;
    for await (const ev of stream) {
      if (ev.type === 'delta' && ++n === 3) stream.abort();
      if (ev.type === 'finish') finish = ev;
    }
    assert.equal(finish?.finishReason, 'abort');
    assert.ok(finish.usage.completionTokens < 10);
    assert.equal(tm.engine.stats().kvCacheUsage, 0);
  });
});

describe('scorePrompt', () => {
  it('agrees with the logprobs the engine samples with (v32 fixture, ref backend)', async () => {
    const model = loadModel(openModel(fixturePath('v32-tiny-bf16')), new RefBackend(), { fp8Activations: 'quant' });
    const engine = new LLMEngine(model, { kvCacheTokens: 1024, blockSize: 16 });
    try {
      const prompt = Array.from({ length: 40 }, (_, i) => 2 + ((i * 37) % 500));
      const scored = await scorePrompt(model, prompt, 3);
      assert.equal(scored.length, prompt.length);
      assert.equal(scored[0]!.logprob, null);
      for (const k of [1, 20, 33, 39]) {
        const row = scored[k]!;
        const want = (await collectTop(engine, prompt.slice(0, k)))!;
        assert.deepEqual(row.topLogprobs!.map((t) => t.id), want.map((t) => t.id), `top ids at ${k}`);
        row.topLogprobs!.forEach((t, j) => assert.ok(Math.abs(t.logprob - want[j]!.logprob) < 1e-3, `logprob at ${k}`));
      }
    } finally {
      await engine.close();
      model.dispose();
    }
  });
});

async function collectTop(engine: LLMEngine, promptIds: number[]) {
  for await (const ev of engine.addRequest({ promptIds, maxTokens: 1, sampling: normalizeSamplingParams({ temperature: 0, logprobs: true, topLogprobs: 3 }) })) {
    if (ev.type === 'token') return ev.topLogprobs;
  }
  return undefined;
}
