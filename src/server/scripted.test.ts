// The server in-process on 127.0.0.1 over a scripted model (its greedy output is a given text), so
// tool calls, reasoning, queueing, keep-alives, health and mid-stream failures can be driven
// exactly. Driven by the official `openai` client and raw HTTP.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { createTextModel, loadTextTokenizer } from '../text/index.js';
import type { TextModel } from '../text/index.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { DeepSeekFlavor, FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { ScriptedModel } from '../../test/helpers/scripted-model.js';
import { parseSse } from '../../test/helpers/server-process.js';
import { TesseraServer } from './server.js';
import type { ServerOptions } from './server.js';

interface Scripted {
  readonly fixture: FixtureDir;
  readonly model: ScriptedModel;
  readonly tm: TextModel;
  readonly server: TesseraServer;
  readonly url: string;
  readonly client: OpenAI;
  script(text: string): void;
  close(): Promise<void>;
}

async function startScripted(flavor: DeepSeekFlavor, options: ServerOptions = {}, engine: { maxNumSeqs?: number } = {}): Promise<Scripted> {
  const fixture = await makeDeepSeekModelDir(flavor);
  const text = await loadTextTokenizer(fixture.dir);
  const model = new ScriptedModel([], { vocabSize: 129280, eosTokenId: 1 });
  const tm = createTextModel(text, model, { name: 'scripted', engine: { kvCacheTokens: 4096, blockSize: 16, ...engine } });
  const server = new TesseraServer({ host: '127.0.0.1', port: 0, ...options });
  const addr = await server.listen();
  server.setModel(tm);
  const url = `http://127.0.0.1:${addr.port}`;
  return {
    fixture, model, tm, server, url,
    client: new OpenAI({ baseURL: `${url}/v1`, apiKey: 'none', maxRetries: 0 }),
    script: (s) => (model.script = text.tokenizer.encode(s, { addSpecialTokens: false })),
    close: async () => {
      await server.shutdown(0);
      await fixture.dispose();
    },
  };
}

const WEATHER: OpenAI.ChatCompletionTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } } } },
};
const TIME: OpenAI.ChatCompletionTool = { type: 'function', function: { name: 'get_time', parameters: { type: 'object', properties: {} } } };
const ASK = [{ role: 'user' as const, content: 'Weather in Paris for 3 days, and the time?' }];

// The same two calls in each DeepSeek format.
const TOOL_OUTPUT: Record<DeepSeekFlavor, string> = {
  v32:
    'Let me look.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n' +
    '<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n</｜DSML｜invoke>\n<｜DSML｜invoke name="get_time">\n</｜DSML｜invoke>\n</｜DSML｜function_calls>',
  v31: 'Let me look.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris", "days": 3}<｜tool▁call▁end｜><｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
  v3:
    'Let me look.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris", "days": 3}\n```<｜tool▁call▁end｜>\n' +
    '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
};
const EXPECTED_CALLS = [['get_weather', '{"city": "Paris", "days": 3}'], ['get_time', '{}']];

for (const flavor of ['v32', 'v31', 'v3'] as const) {
  describe(`tool calls, DeepSeek ${flavor} format`, () => {
    let s: Scripted;
    before(async () => {
      s = await startScripted(flavor);
      s.script(TOOL_OUTPUT[flavor]);
    });
    after(() => s.close());

    it('non-streaming: tool_calls with ids, finish_reason tool_calls', async () => {
      const r = await s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER, TIME] });
      const c = r.choices[0]!;
      assert.equal(c.finish_reason, 'tool_calls');
      assert.equal(c.message.content, 'Let me look.');
      const calls = (c.message.tool_calls ?? []) as OpenAI.ChatCompletionMessageFunctionToolCall[];
      assert.deepEqual(calls.map((t) => [t.function.name, t.function.arguments]), EXPECTED_CALLS);
      for (const t of calls) assert.match(t.id, /^call_[A-Za-z0-9]{24}$/);
    });

    it('streaming: tool_call deltas assemble to the same calls', async () => {
      const stream = await s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER, TIME], stream: true });
      const calls: Array<{ id: string; name: string; args: string }> = [];
      let content = '';
      let finish: string | null = null;
      for await (const chunk of stream) {
        const d = chunk.choices[0]?.delta;
        content += d?.content ?? '';
        for (const t of d?.tool_calls ?? []) {
          if (t.id) calls[t.index] = { id: t.id, name: t.function?.name ?? '', args: '' };
          calls[t.index]!.args += t.function?.arguments ?? '';
        }
        finish = chunk.choices[0]?.finish_reason ?? finish;
      }
      assert.equal(content, 'Let me look.');
      assert.deepEqual(calls.map((c) => [c.name, c.args]), EXPECTED_CALLS);
      assert.equal(finish, 'tool_calls');
    });

    it('tool_choice none leaves the markup unparsed; without tools nothing is parsed either', async () => {
      const r = await s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER], tool_choice: 'none' });
      assert.equal(r.choices[0]!.message.tool_calls, undefined);
      assert.equal(r.choices[0]!.finish_reason, 'stop');
    });
  });
}

describe('scripted server: reasoning, forced tools, queueing, keep-alive, disconnects, health', () => {
  let s: Scripted;
  before(async () => {
    s = await startScripted('v32', { keepAliveMs: 40, maxWaitingRequests: 2, healthStuckMs: 150 }, { maxNumSeqs: 2 });
  });
  after(() => s.close());

  it('thinking mode: reasoning in its own field, streamed as reasoning deltas', async () => {
    s.script('The user says hi.</think>Hello!');
    const body = { model: 'scripted', messages: [{ role: 'user' as const, content: 'hi' }], chat_template_kwargs: { thinking: true } };
    const r = await s.client.chat.completions.create(body);
    const msg = r.choices[0]!.message as OpenAI.ChatCompletionMessage & { reasoning?: string };
    assert.equal(msg.reasoning, 'The user says hi.');
    assert.equal(msg.content, 'Hello!');
    const stream = await s.client.chat.completions.create({ ...body, stream: true });
    let reasoning = '';
    let content = '';
    for await (const c of stream) {
      const d = c.choices[0]?.delta as { reasoning?: string; content?: string } | undefined;
      reasoning += d?.reasoning ?? '';
      content += d?.content ?? '';
    }
    assert.deepEqual([reasoning, content], ['The user says hi.', 'Hello!']);
  });

  it('accepts reasoning and reasoning_content in the history alike', async () => {
    const history = (field: string) => [
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: null, [field]: 'I should call the tool', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
    ];
    const ids = async (messages: unknown) => ((await (await fetch(`${s.url}/tokenize`, { method: 'POST', body: JSON.stringify({ messages, tools: [WEATHER], chat_template_kwargs: { thinking: true } }) })).json()) as { tokens: number[] }).tokens;
    const a = await ids(history('reasoning'));
    assert.deepEqual(await ids(history('reasoning_content')), a);
    assert.notDeepEqual(await ids(history('ignored')), a, 'the reasoning is part of the prompt');
  });

  it('a named tool_choice forces that call; required forces some call', async () => {
    s.script('<｜DSML｜parameter name="city" string="true">Rome</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>');
    const named = await s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER, TIME], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    const calls = named.choices[0]!.message.tool_calls as OpenAI.ChatCompletionMessageFunctionToolCall[];
    assert.deepEqual(calls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Rome"}']]);
    s.script('get_time">\n</｜DSML｜invoke>\n</｜DSML｜function_calls>');
    const required = await s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER, TIME], tool_choice: 'required' });
    assert.equal((required.choices[0]!.message.tool_calls![0] as OpenAI.ChatCompletionMessageFunctionToolCall).function.name, 'get_time');
    await assert.rejects(
      s.client.chat.completions.create({ model: 'scripted', messages: ASK, tools: [WEATHER], tool_choice: { type: 'function', function: { name: 'nope' } } }),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'tool_choice',
    );
  });

  it('sends keep-alive comments while a slow prefill runs', async () => {
    s.script('ok');
    s.model.delayMs = 200;
    try {
      const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], stream: true }) });
      const raw = await res.text();
      const firstContent = raw.indexOf('"content":"ok"');
      assert.ok(raw.indexOf(': keep-alive') >= 0 && raw.indexOf(': keep-alive') < firstContent, raw);
      assert.ok(parseSse(raw).done);
    } finally {
      s.model.delayMs = 0;
    }
  });

  it('a full queue answers 429 with the OpenAI error shape and Retry-After', async () => {
    s.script('word '.repeat(30));
    s.model.delayMs = 30;
    try {
      const send = () => fetch(`${s.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'x', max_tokens: 20 }) });
      const responses = await Promise.all(Array.from({ length: 8 }, send));
      const limited = responses.filter((r) => r.status === 429);
      assert.ok(limited.length > 0, `statuses: ${responses.map((r) => r.status).join(',')}`);
      assert.ok(responses.some((r) => r.status === 200));
      const body = (await limited[0]!.json()) as { error: { code: string; type: string } };
      assert.equal(body.error.code, 'queue_full');
      assert.equal(limited[0]!.headers.get('retry-after'), '1');
      await Promise.all(responses.filter((r) => !r.bodyUsed).map((r) => r.text()));
    } finally {
      s.model.delayMs = 0;
    }
  });

  it('a disconnect aborts a queued request and a non-streaming one, freeing their blocks', async () => {
    s.script('word '.repeat(200));
    s.model.delayMs = 20;
    const engine = s.tm.engine;
    const before = engine.stats().finished.abort;
    try {
      const long = (signal: AbortSignal, stream: boolean) =>
        fetch(`${s.url}/v1/completions`, { method: 'POST', signal, body: JSON.stringify({ prompt: 'x', max_tokens: 150, stream }) }).then((r) => r.text()).catch(() => 'aborted');
      const acs = [new AbortController(), new AbortController(), new AbortController()];
      const pending = [long(acs[0]!.signal, false), long(acs[1]!.signal, true), long(acs[2]!.signal, true)];
      for (let t = 0; t < 200 && (engine.stats().waiting < 1 || engine.stats().running < 2); t++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(engine.stats().running, 2, 'two run (max_num_seqs 2), the third waits');
      assert.equal(engine.stats().waiting, 1);
      acs[2]!.abort(); // queued, never started
      acs[0]!.abort(); // running, not streaming
      for (let t = 0; t < 100 && engine.stats().running + engine.stats().waiting > 1; t++) await new Promise((r) => setTimeout(r, 10));
      assert.deepEqual([engine.stats().running, engine.stats().waiting], [1, 0]);
      acs[1]!.abort();
      await Promise.all(pending);
      for (let t = 0; t < 100 && engine.stats().running > 0; t++) await new Promise((r) => setTimeout(r, 10));
      assert.equal(engine.stats().kvCacheUsage, 0);
      assert.equal(engine.stats().finished.abort - before, 3);
    } finally {
      s.model.delayMs = 0;
    }
  });

  it('/health: 503 while loading, 503 while a step is stuck, 200 otherwise', async () => {
    const loading = new TesseraServer({ host: '127.0.0.1', port: 0 });
    const addr = await loading.listen();
    const h = await fetch(`http://127.0.0.1:${addr.port}/health`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { status: 'loading' });
    const chat = await fetch(`http://127.0.0.1:${addr.port}/v1/chat/completions`, { method: 'POST', body: '{}' });
    assert.equal(chat.status, 503);
    assert.equal(((await chat.json()) as { error: { code: string } }).error.code, 'model_loading');
    await loading.shutdown(0);

    assert.equal((await fetch(`${s.url}/health`)).status, 200);
    s.script('slow');
    s.model.delayMs = 600;
    try {
      const req = s.client.completions.create({ model: 'scripted', prompt: 'x', max_tokens: 1 });
      await new Promise((r) => setTimeout(r, 350));
      const stuck = await fetch(`${s.url}/health`);
      assert.equal(stuck.status, 503);
      assert.match(((await stuck.json()) as { reason: string }).reason, /a step has been running for \d+ ms/);
      await req;
    } finally {
      s.model.delayMs = 0;
    }
    assert.equal((await fetch(`${s.url}/health`)).status, 200);
  });
});

describe('scripted server: an engine failure mid-stream', () => {
  let s: Scripted;
  before(async () => {
    s = await startScripted('v32', { reasoningField: 'reasoning_content' });
  });
  after(() => s.close());

  it('reasoning_content is emitted when configured', async () => {
    s.script('thinking</think>done');
    const r = await s.client.chat.completions.create({ model: 'scripted', messages: [{ role: 'user', content: 'x' }], chat_template_kwargs: { thinking: true } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const msg = r.choices[0]!.message as { reasoning_content?: string; reasoning?: string };
    assert.deepEqual([msg.reasoning_content, msg.reasoning], ['thinking', undefined]);
  });

  it('is sent as a data: error event after the headers, then [DONE]; /health turns 503', async () => {
    s.script('a b c d e f g h i j k l m n o p');
    s.model.failAfterCalls = s.model.forwardCalls + 3;
    const res = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'x' }], stream: true }) });
    assert.equal(res.status, 200);
    const sse = parseSse(await res.text());
    const last = sse.events.at(-1) as { error?: { message: string; type: string; code: string } };
    assert.ok(last.error, 'the last event is an error object');
    assert.equal(last.error.code, 'engine_dead');
    assert.match(last.error.message, /simulated device failure/);
    assert.ok(sse.done);
    const health = await fetch(`${s.url}/health`);
    assert.equal(health.status, 503);
    await assert.rejects(s.client.chat.completions.create({ model: 'scripted', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.APIError && e.status === 503);
  });
});
