// Structured output through the official `openai` client and its zod helpers against a real
// `tessera serve`: the embedded model (tessera-tiny, which writes gibberish) for response formats
// and vLLM's extensions, and the random V3.2 test model for forced tool calls (the V3.2 tool
// prompt alone is longer than tessera-tiny's 512-token context). Schemas bound every value
// (enums, integer ranges, short strings), so a gibberish model still ends them well within
// max_tokens; what a length cut does is checked on its own.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { zodFunction, zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';
import { makeTextModelDir } from '../../test/helpers/text-models.js';
import { startServerProcess } from '../../test/helpers/server-process.js';
import type { ServerProcess } from '../../test/helpers/server-process.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

const Person = z.object({
  name: z.string().max(12),
  // xgrammar 0.1.27 turns maximum 120 into 1[0-2][0-9] (up to 129); ranges up to 99 are exact
  age: z.number().int().min(0).max(99),
  role: z.enum(['admin', 'user', 'guest']),
  tags: z.array(z.enum(['a', 'b', 'c'])).max(3),
});

const Weather = z.object({ city: z.enum(['Paris', 'Oslo', 'Lima']), days: z.number().int().min(1).max(7) });

const messages = (content: string): OpenAI.ChatCompletionMessageParam[] => [{ role: 'user', content }];

describe('structured output (real process, openai client)', () => {
  let tiny: ServerProcess;
  let v32: ServerProcess;
  let fixture: FixtureDir;
  let client: OpenAI;
  let toolClient: OpenAI;

  before(async () => {
    fixture = await makeTextModelDir('v32', { config: { max_position_embeddings: 4096 } });
    [tiny, v32] = await Promise.all([
      startServerProcess(['--device', 'cpu']),
      startServerProcess(['--model', fixture.dir, '--device', 'cpu', '--served-model-name', 'v32']),
    ]);
    client = new OpenAI({ baseURL: `${tiny.url}/v1`, apiKey: 'none', maxRetries: 0 });
    toolClient = new OpenAI({ baseURL: `${v32.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  after(async () => {
    await Promise.all([tiny?.stop('SIGKILL'), v32?.stop('SIGKILL')]);
    await fixture?.dispose();
  });

  it('json_schema through zodResponseFormat: every answer parses and validates, streamed and not', async () => {
    const format = zodResponseFormat(Person, 'person');
    for (let seed = 0; seed < 6; seed++) {
      const r = await client.chat.completions.parse({ model: 'tessera-tiny', messages: messages('Describe a user.'), response_format: format, max_tokens: 120, seed, temperature: 1 });
      const choice = r.choices[0]!;
      assert.equal(choice.finish_reason, 'stop');
      assert.deepEqual(choice.message.parsed, Person.parse(JSON.parse(choice.message.content!)));
    }
    const stream = client.chat.completions.stream({ model: 'tessera-tiny', messages: messages('Describe a user.'), response_format: format, max_tokens: 120, seed: 9, n: 3 });
    const done = await stream.finalChatCompletion();
    assert.equal(done.choices.length, 3);
    for (const c of done.choices) {
      assert.equal(c.finish_reason, 'stop');
      Person.parse(c.message.parsed);
    }
  });

  it('json_object gives a JSON object; a length cut gives finish_reason "length" and a prefix', async () => {
    const r = await client.chat.completions.create({ model: 'tessera-tiny', messages: messages('hi'), response_format: { type: 'json_object' }, max_tokens: 120, seed: 1 });
    assert.equal(r.choices[0]!.finish_reason, 'stop');
    const value: unknown = JSON.parse(r.choices[0]!.message.content!);
    assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value));
    const cut = await client.chat.completions.create({
      model: 'tessera-tiny', messages: messages('Describe a user.'), response_format: zodResponseFormat(Person, 'person'), max_tokens: 4, seed: 2,
    });
    assert.equal(cut.choices[0]!.finish_reason, 'length');
    assert.match(cut.choices[0]!.message.content!, /^\{"/);
    assert.throws(() => JSON.parse(cut.choices[0]!.message.content!));
  });

  it('regex and choice (structured_outputs and guided_*), on chat and completions, streamed and not', async () => {
    const email = /^[a-z]{3,8}@[a-z]{2,5}\.(com|org)$/;
    const body = { model: 'tessera-tiny', max_tokens: 40, seed: 3 };
    const chat = await client.chat.completions.create({ ...body, messages: messages('mail?'), structured_outputs: { regex: email.source.slice(1, -1) } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.match(chat.choices[0]!.message.content!, email);
    const choices = ['positive', 'negative', 'neutral'];
    const legacy = await client.completions.create({ ...body, prompt: 'The review was', guided_choice: choices } as OpenAI.CompletionCreateParamsNonStreaming);
    assert.ok(choices.includes(legacy.choices[0]!.text), legacy.choices[0]!.text);
    assert.equal(legacy.choices[0]!.finish_reason, 'stop');
    const streamed = await client.completions.create({ ...body, prompt: 'Mail:', stream: true, n: 2, structured_outputs: { regex: email.source.slice(1, -1) } } as OpenAI.CompletionCreateParamsStreaming);
    const texts = ['', ''];
    for await (const chunk of streamed) for (const c of chunk.choices) texts[c.index] += c.text;
    for (const t of texts) assert.match(t, email);
    const grammar = await client.completions.create({ ...body, prompt: 'x', structured_outputs: { grammar: 'root ::= "(" [0-9] [0-9]? ")"' } } as OpenAI.CompletionCreateParamsNonStreaming);
    assert.match(grammar.choices[0]!.text, /^\([0-9]{1,2}\)$/);
  });

  it('tool_choice required and named: arguments follow the tool schema, streamed and not', async () => {
    const tools = [zodFunction({ name: 'get_weather', parameters: Weather }), zodFunction({ name: 'get_time', parameters: z.object({ zone: z.enum(['UTC', 'CET']) }) })];
    const named = await toolClient.chat.completions.parse({
      model: 'v32', messages: messages('Weather in Oslo?'), tools, tool_choice: { type: 'function', function: { name: 'get_weather' } }, max_tokens: 300, seed: 4,
    });
    const call = named.choices[0]!.message.tool_calls?.[0];
    assert.ok(call);
    assert.equal(named.choices[0]!.finish_reason, 'tool_calls');
    assert.equal(call.type === 'function' && call.function.name, 'get_weather');
    if (call.type === 'function') Weather.parse(call.function.parsed_arguments);
    const stream = toolClient.chat.completions.stream({ model: 'v32', messages: messages('Time?'), tools, tool_choice: 'required', parallel_tool_calls: false, max_tokens: 300, seed: 5 });
    const done = await stream.finalChatCompletion();
    const calls = done.choices[0]!.message.tool_calls ?? [];
    assert.equal(calls.length, 1);
    for (const c of calls) {
      assert.ok(c.type === 'function');
      if (c.function.name === 'get_weather') Weather.parse(JSON.parse(c.function.arguments));
      else assert.deepEqual(Object.keys(JSON.parse(c.function.arguments) as object), ['zone']);
    }
  });

  it('invalid schemas, regexes, grammars and unsupported combinations are 400s naming the field', async () => {
    const post = (path: string, body: unknown) => fetch(`${tiny.url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    const chat = { messages: messages('hi'), max_tokens: 8 };
    const cases: Array<[string, unknown, string, RegExp]> = [
      ['/v1/chat/completions', { ...chat, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'nope' } } } }, 'response_format.json_schema.schema', /Unsupported type "nope"/],
      ['/v1/chat/completions', { ...chat, response_format: { type: 'json_schema', json_schema: { schema: {} } } }, 'response_format.json_schema.name', /name/],
      ['/v1/chat/completions', { ...chat, response_format: { type: 'xml' } }, 'response_format.type', /"xml"/],
      ['/v1/completions', { prompt: 'x', structured_outputs: { regex: '([a-z' } }, 'structured_outputs.regex', /invalid structured_outputs.regex/],
      ['/v1/completions', { prompt: 'x', guided_grammar: 'root ::= "a" b' }, 'guided_grammar', /Rule "b" is not defined/],
      ['/v1/completions', { prompt: 'x', guided_choice: [] }, 'guided_choice', /non-empty/],
      ['/v1/completions', { prompt: 'x', guided_json: '{"type": ' }, 'guided_json', /not valid JSON/],
      ['/v1/completions', { prompt: 'x', guided_regex: 'a', guided_choice: ['a'] }, 'guided_choice', /only one/],
      ['/v1/completions', { prompt: 'x', structured_outputs: { structural_tag: '{}' } }, 'structured_outputs.structural_tag', /not supported/],
      ['/v1/completions', { prompt: 'x', guided_regex: 'a+', min_tokens: 2 }, 'min_tokens', /structured output/],
      ['/v1/completions', { prompt: 'x', guided_regex: 'a+', ignore_eos: true }, 'ignore_eos', /structured output/],
    ];
    for (const [path, body, param, message] of cases) {
      const res = await post(path, body);
      const json = (await res.json()) as { error: { param: string; message: string; type: string } };
      assert.equal(res.status, 400, JSON.stringify(json));
      assert.equal(json.error.param, param);
      assert.equal(json.error.type, 'invalid_request_error');
      assert.match(json.error.message, message);
    }
    // still serving, and the same bad schema again is still a clean 400
    const ok = await client.chat.completions.create({ model: 'tessera-tiny', ...chat, structured_outputs: { choice: ['ok'] } } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.equal(ok.choices[0]!.message.content, 'ok');
    assert.equal((await post(cases[0]![0], cases[0]![1])).status, 400);
  });
});
