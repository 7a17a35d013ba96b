// A real `tessera serve` process with a tiny KV cache: preemption must not change any answer, and
// hundreds of malformed or hostile requests must each get a 4xx OpenAI error object while the
// server keeps serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { makeTextModelDir } from '../../test/helpers/text-models.js';
import { startServerProcess } from '../../test/helpers/server-process.js';
import type { ServerProcess } from '../../test/helpers/server-process.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

interface Case {
  readonly name: string;
  readonly method?: string;
  readonly path: string;
  /** a value to JSON-encode, or raw bytes / text sent as they are */
  readonly body?: unknown;
  readonly raw?: Buffer | string;
  /** expected status (any 4xx when absent) and param */
  readonly status?: number;
  readonly param?: string | null;
}

const MSG = [{ role: 'user', content: 'hi' }];
const chat = (extra: Record<string, unknown>, name: string, param?: string | null, status?: number): Case => ({
  name: `chat ${name}`, path: '/v1/chat/completions', body: { messages: MSG, max_tokens: 2, ...extra },
  ...(param !== undefined ? { param } : {}), ...(status !== undefined ? { status } : {}),
});
const completion = (extra: Record<string, unknown>, name: string, param?: string | null): Case => ({
  name: `completion ${name}`, path: '/v1/completions', body: { prompt: 'hi', max_tokens: 2, ...extra }, ...(param !== undefined ? { param } : {}),
});

function hostileCases(): Case[] {
  const cases: Case[] = [];
  // Bodies that are not JSON objects.
  const rawBodies = ['', ' ', '{', '}', '{"messages": [}', '{"messages": [{"role": "user", "content": "hi"}]', "{'messages': []}", 'null', 'true', '123', '"text"', '[]', '[1, 2]',
    'NaN', '{"a": 1}{"b": 2}', '{"messages": undefined}', '\u0000', 'messages=hi&max_tokens=2', '{"messages": [{"role": "user", "content": "hi"}], "n": 1,}', '['.repeat(20_000) + ']'.repeat(20_000)];
  for (const path of ['/v1/chat/completions', '/v1/completions', '/tokenize']) {
    rawBodies.forEach((raw, i) => cases.push({ name: `${path} raw body ${i}`, path, raw, status: 400 }));
  }
  // JSON numbers beyond float64 parse to Infinity.
  cases.push({ name: 'temperature 1e999', path: '/v1/chat/completions', raw: '{"messages": [{"role": "user", "content": "hi"}], "temperature": 1e999}', param: 'temperature' });
  cases.push({ name: 'max_tokens -1e999', path: '/v1/completions', raw: '{"prompt": "hi", "max_tokens": -1e999}', param: 'max_tokens' });
  // Invalid UTF-8.
  const badUtf8 = [Buffer.from([0xff, 0xfe, 0xfd]), Buffer.concat([Buffer.from('{"messages": [{"role": "user", "content": "'), Buffer.from([0xc3, 0x28]), Buffer.from('"}]}')]),
    Buffer.concat([Buffer.from('{"prompt": "'), Buffer.from([0xe2, 0x82]), Buffer.from('"}')]), Buffer.concat([Buffer.from('{"prompt": "'), Buffer.from([0xed, 0xa0, 0x80]), Buffer.from('"}')])];
  for (const path of ['/v1/chat/completions', '/v1/completions']) badUtf8.forEach((raw, i) => cases.push({ name: `${path} invalid utf-8 ${i}`, path, raw, status: 400 }));

  // Wrong types and out-of-range values, field by field.
  const bad: Record<string, unknown[]> = {
    temperature: ['hot', -1, 2.5, true, [], {}],
    top_p: [0, 1.5, -0.1, 'x', 'null'],
    top_k: [-5, 1.5, 'x'],
    min_p: [-1, 2, 'x'],
    n: [0, -1, 1.5, 1e9, 'two', 65],
    max_tokens: [0, -5, 1.5, 1e20, 'many', 9007199254740993, 100_000],
    max_completion_tokens: [0, -1, 'x'],
    seed: [1.5, 'x', 1e30],
    stop: [5, [1, 2], Array.from({ length: 100 }, () => 'x'), ['a', 5], 'y'.repeat(5000), {}],
    logprobs: ['yes', 1, {}],
    top_logprobs: [21, -1, 'x', 1.5],
    logit_bias: ['x', [1], { abc: 1 }, { 5: 'x' }, { 999999999: 1 }, { 5: 1000 }, { '-1': 1 }],
    presence_penalty: [5, -3, 'x'],
    frequency_penalty: [-3, 3, 'x'],
    repetition_penalty: [0, -1, 11, 'x'],
    stop_token_ids: ['x', [-1], [1e9], [1.5], 5],
    min_tokens: [-1, 1.5, 'x', 5],
    stream: ['yes', 1, {}],
    stream_options: ['x', 5],
    tools: ['x', [{}], [{ type: 'function' }], [{ type: 'function', function: { name: '' } }], [{ type: 'retrieval', function: { name: 'f' } }], [5]],
    tool_choice: ['sometimes', { type: 'function' }, 'required', { type: 'function', function: { name: 'nope' } }, 5],
    chat_template_kwargs: ['x', 5, { thinking: 'yes' }],
    response_format: [{ type: 'xml' }, { type: 'json_schema', json_schema: {} }, { type: 'json_schema', json_schema: { name: 'x', schema: { type: 'nope' } } }, 'x'],
    model: ['unknown-model', 5, {}],
    include_stop_str_in_output: ['x'],
    ignore_eos: ['x'],
    skip_special_tokens: [5],
    cache_salt: [5],
  };
  for (const [field, values] of Object.entries(bad)) {
    values.forEach((v, i) => {
      const status = field === 'model' && typeof v === 'string' ? 404 : undefined;
      cases.push(chat({ [field]: v }, `${field} #${i}`, undefined, status));
    });
  }
  cases.push(chat({ stream_options: { include_usage: true } }, 'stream_options without stream', 'stream_options'));
  cases.push(chat({ stream: true, stream_options: { include_usage: 'yes' } }, 'include_usage not a boolean', 'stream_options.include_usage'));
  cases.push(chat({ top_logprobs: 2 }, 'top_logprobs without logprobs', 'top_logprobs'));
  cases.push(chat({ min_tokens: 5, max_tokens: 2 }, 'min_tokens above max_tokens', 'min_tokens'));

  // Messages.
  const messages: unknown[] = [undefined, null, [], 'hi', 5, {}, [null], ['hi'], [5], [{}], [{ role: 'robot', content: 'x' }], [{ role: 5, content: 'x' }],
    [{ role: 'user' }], [{ role: 'user', content: 5 }], [{ role: 'user', content: {} }], [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }],
    [{ role: 'user', content: [{ type: 'text' }] }], [{ role: 'user', content: [5] }], [{ role: 'tool', content: 'x', tool_call_id: 'c' }],
    [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: 'x' }],
    [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{not json' } }] }, { role: 'tool', tool_call_id: 'c', content: 'r' }],
    [{ role: 'user', content: 'x' }, { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: '' } }] }],
    [{ role: 'user', content: 'x', reasoning: 5 }], [{ role: 'user', content: 'x', prefix: 'yes' }], [{ role: 'developer', content: '' }],
  ];
  messages.forEach((m, i) => cases.push({ name: `chat messages #${i}`, path: '/v1/chat/completions', body: { messages: m, max_tokens: 2 } }));
  cases.push({ name: 'chat without messages', path: '/v1/chat/completions', body: { max_tokens: 2 }, param: 'messages' });
  // Too long for the context (512): the prompt itself, then prompt + max_tokens.
  cases.push(chat({ messages: [{ role: 'user', content: 'word '.repeat(700) }] }, 'prompt longer than the context', 'messages'));
  cases.push(chat({ max_tokens: 600 }, 'max_tokens beyond the context', 'max_tokens'));
  // A body over --max-body-size.
  cases.push({ name: 'oversize body', path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x'.repeat(200_000) }] }, status: 413 });
  cases.push({ name: '__proto__ pollution attempt', path: '/v1/chat/completions', body: JSON.parse('{"__proto__": {"max_tokens": 2}, "constructor": {"prototype": {"n": 5}}, "messages": "x"}') as unknown, param: 'messages' });

  // Completions.
  const prompts: unknown[] = [undefined, 5, {}, [], [[]], [-1], [1e9], [1.5], ['a', 5], [[1, 2], 'x', 5], [null], Array.from({ length: 65 }, () => 'x'), true];
  prompts.forEach((p, i) => cases.push({ name: `completion prompt #${i}`, path: '/v1/completions', body: { prompt: p, max_tokens: 2 } }));
  cases.push(completion({ echo: 'x' }, 'echo not a boolean', 'echo'));
  cases.push(completion({ suffix: 'tail' }, 'suffix', 'suffix'));
  cases.push(completion({ best_of: 3 }, 'best_of', 'best_of'));
  cases.push(completion({ logprobs: 21 }, 'logprobs too many', 'logprobs'));
  cases.push(completion({ logprobs: true }, 'logprobs boolean', 'logprobs'));
  cases.push(completion({ max_tokens: 0 }, 'max_tokens 0 without echo', 'max_tokens'));
  cases.push(completion({ prompt: 'word '.repeat(700) }, 'prompt longer than the context', 'prompt'));
  for (const [field, values] of Object.entries({ temperature: ['x', -2], n: [0, 'x'], stop: [7], seed: ['x'] })) {
    values.forEach((v, i) => cases.push(completion({ [field]: v }, `${field} #${i}`, field)));
  }

  // Tokenize / detokenize.
  cases.push({ name: 'tokenize without prompt', path: '/tokenize', body: {}, param: 'prompt' });
  cases.push({ name: 'tokenize prompt not a string', path: '/tokenize', body: { prompt: 5 }, param: 'prompt' });
  cases.push({ name: 'tokenize bad messages', path: '/tokenize', body: { messages: [{ role: 'x' }] } });
  cases.push({ name: 'detokenize without tokens', path: '/detokenize', body: {}, param: 'tokens' });
  for (const tokens of ['x', [-1], [1e12], [1.5], ['a']]) cases.push({ name: `detokenize ${JSON.stringify(tokens)}`, path: '/detokenize', body: { tokens } });

  // Routes and methods.
  cases.push({ name: 'unknown route', method: 'GET', path: '/v1/nothing', status: 404 });
  cases.push({ name: 'unknown model card', method: 'GET', path: '/v1/models/other', status: 404 });
  cases.push({ name: 'malformed model id', method: 'GET', path: '/v1/models/%E0', status: 400 });
  cases.push({ name: 'POST /v1/models', method: 'POST', path: '/v1/models', body: {}, status: 405 });
  cases.push({ name: 'GET chat', method: 'GET', path: '/v1/chat/completions', status: 405 });
  cases.push({ name: 'DELETE completions', method: 'DELETE', path: '/v1/completions', status: 405 });
  cases.push({ name: 'PUT health', method: 'PUT', path: '/health', status: 405 });
  cases.push({ name: 'unknown page', method: 'GET', path: '/no-such-page.html', status: 404 });
  return cases;
}

describe('tessera serve under a tiny KV cache and hostile input (real process)', () => {
  let fixture: FixtureDir;
  let server: ServerProcess;
  let client: OpenAI;

  before(async () => {
    fixture = await makeTextModelDir('v32');
    // 8 blocks of 16 tokens: eight requests needing 3 blocks each must preempt one another.
    server = await startServerProcess(['--model', fixture.dir, '--device', 'cpu', '--kv-cache-tokens', '128', '--block-size', '16', '--max-num-seqs', '8', '--max-body-size', '64KiB', '--max-model-len', '512', '--served-model-name', 'tiny']);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'none', maxRetries: 0 });
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await fixture?.dispose();
  });

  it('preemption under a tiny KV cache leaves every greedy answer equal to its solo run', async () => {
    const prompts = Array.from({ length: 8 }, (_, i) => `Question ${i}: what is ${i} plus ${i * 3}?`);
    const ask = (content: string) =>
      client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content }], max_tokens: 24, temperature: 0, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const solo: string[] = [];
    for (const p of prompts) solo.push((await ask(p)).choices[0]!.message.content ?? '');
    const before = await preemptions(server.url);
    const together = await Promise.all(prompts.map(ask));
    assert.deepEqual(together.map((r) => r.choices[0]!.message.content), solo);
    assert.ok((await preemptions(server.url)) > before, 'the small cache forced preemptions');
    const text = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(text, /^vllm:kv_cache_usage_perc\{[^}]*\} 0$/m);
  });

  it('answers 200+ malformed or hostile requests with a 4xx OpenAI error object and keeps serving', async (t) => {
    const cases = hostileCases();
    assert.ok(cases.length >= 200, `${cases.length} cases`);
    t.diagnostic(`${cases.length} hostile requests`);
    const failures: string[] = [];
    for (const c of cases) {
      const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
      const res = await fetch(`${server.url}${c.path}`, { method: c.method ?? 'POST', headers: { 'Content-Type': 'application/json' }, ...(body !== undefined ? { body } : {}) });
      const text = await res.text();
      let err: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | undefined;
      try {
        err = (JSON.parse(text) as { error?: typeof err }).error;
      } catch {
        err = undefined;
      }
      const problems: string[] = [];
      if (res.status < 400 || res.status >= 500) problems.push(`status ${res.status}`);
      if (c.status !== undefined && res.status !== c.status) problems.push(`status ${res.status}, expected ${c.status}`);
      if (!err || typeof err.message !== 'string' || typeof err.type !== 'string' || !('param' in err) || !('code' in err)) problems.push(`not an error object: ${text.slice(0, 200)}`);
      else if (c.param !== undefined && err.param !== c.param) problems.push(`param ${JSON.stringify(err.param)}, expected ${JSON.stringify(c.param)}`);
      if (problems.length > 0) failures.push(`${c.name}: ${problems.join('; ')}`);
    }
    assert.deepEqual(failures, []);
    // Still serving, nothing left behind.
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    const r = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'still there?' }], max_tokens: 3 } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.equal(r.choices.length, 1);
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    assert.match(metrics, /^vllm:num_requests_running\{[^}]*\} 0$/m);
    assert.match(metrics, /^vllm:num_requests_waiting\{[^}]*\} 0$/m);
  });

  it('the openai client surfaces the errors with status, param and code', async () => {
    await assert.rejects(
      client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'hi' }], temperature: 9 } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.param === 'temperature',
    );
    await assert.rejects(
      client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'word '.repeat(700) }] } as OpenAI.ChatCompletionCreateParamsNonStreaming),
      (e: unknown) => e instanceof OpenAI.BadRequestError && e.code === 'context_length_exceeded' && e.param === 'messages',
    );
  });
});

async function preemptions(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^vllm:num_preemptions_total\{[^}]*\} (\S+)$/m.exec(text)?.[1] ?? NaN);
}
