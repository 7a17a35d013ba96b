// Malformed and hostile requests against `tessera serve`: bad JSON, wrong types, huge and negative
// numbers, NaN and Infinity, invalid UTF-8, deep nesting, unknown (and prototype-named) fields,
// bodies over the limit and of 10 MB, slow headers, oversized headers and broken HTTP. Each must be
// answered with a 4xx and an OpenAI error object, and the server must still serve afterwards.
//   node dist/bench/hostile-requests.js [--model DIR] [--device cpu] [--json]
// src/server/robustness.test.ts runs the same cases (without the 10 MB bodies) in CI.
import { connect } from 'node:net';
import { startServerProcess } from '../test/helpers/server-process.js';
import { isMain, parseArgs } from './bench-util.js';

export interface HostileOptions {
  /** the server's --max-body-size, in bytes */
  readonly maxBodyBytes: number;
  /** add bodies of 10 MB (valid JSON and not) */
  readonly bigBodies: boolean;
}

export interface Case {
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

export function hostileCases(opts: HostileOptions): Case[] {
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
  cases.push({ name: 'oversize body', path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: 'x'.repeat(opts.maxBodyBytes + 1024) }] }, status: 413 });
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
  cases.push(...moreCases(opts, bad, rawBodies, messages, badUtf8));
  return cases;
}


/** Fields both endpoints take (the chat cases above are sent to completions too). */
const SHARED_FIELDS = ['temperature', 'top_p', 'top_k', 'min_p', 'n', 'max_tokens', 'seed', 'stop', 'logit_bias', 'presence_penalty', 'frequency_penalty',
  'repetition_penalty', 'stop_token_ids', 'min_tokens', 'stream', 'stream_options', 'response_format', 'model', 'include_stop_str_in_output', 'ignore_eos', 'skip_special_tokens', 'cache_salt'];

function nested(depth: number, open: string, close: string, inner = '1'): string {
  return open.repeat(depth) + inner + close.repeat(depth);
}

function moreCases(opts: HostileOptions, bad: Record<string, unknown[]>, rawBodies: readonly string[], messages: readonly unknown[], badUtf8: readonly Buffer[]): Case[] {
  const cases: Case[] = [];
  const CHAT = '/v1/chat/completions';
  const chatRaw = (name: string, fields: string, param?: string): Case => ({ name, path: CHAT, raw: `{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 2, ${fields}}`, ...(param !== undefined ? { param } : {}) });
  for (const field of SHARED_FIELDS) {
    bad[field]!.forEach((v, i) => cases.push({ ...completion({ [field]: v }, `${field} #${i}`), ...(field === 'model' && typeof v === 'string' ? { status: 404 } : {}) }));
  }
  // NaN and Infinity are not JSON; 1e999 parses to Infinity; huge and tiny magnitudes.
  for (const field of ['temperature', 'top_p', 'max_tokens', 'n', 'seed', 'min_p', 'presence_penalty']) {
    for (const v of ['NaN', 'Infinity', '-Infinity', '-NaN']) cases.push({ ...chatRaw(`${field} ${v}`, `"${field}": ${v}`), status: 400 });
  }
  const huge: Record<string, string[]> = {
    max_tokens: ['1e308', '-1e308', '9007199254740993', '1e-320', '-0.5', '18446744073709551616'],
    n: ['1e308', '-1e308', '4294967297', '-2147483649'],
    temperature: ['1e308', '-1e308', '-1e-320'],
    top_p: ['1e308', '-1e-320', '1.0000001'],
    min_p: ['1e308', '-1e308'],
    presence_penalty: ['1e308', '-1e308'],
    repetition_penalty: ['1e308', '-1e308', '0'],
    top_logprobs: ['1e308', '-1e308'],
    seed: ['1e308', '-1e308', '1e19'],
    min_tokens: ['1e308', '-1e308'],
  };
  for (const [field, values] of Object.entries(huge)) {
    for (const v of values) cases.push(chatRaw(`${field} ${v}`, `"${field}": ${v}${field === 'top_logprobs' ? ', "logprobs": true' : ''}`, field));
  }
  // Deep nesting, inside a valid object and as the whole body (as deep as the body limit allows).
  for (const depth of [1000, Math.min(100_000, Math.floor(opts.maxBodyBytes / 12))]) {
    cases.push({ name: `messages nested ${depth} deep`, path: CHAT, raw: `{"messages": ${nested(depth, '[', ']')}}`, param: 'messages[0]' });
    cases.push({ name: `stop nested ${depth} deep`, path: CHAT, raw: `{"messages": [{"role": "user", "content": "hi"}], "stop": ${nested(depth, '[', ']', '"x"')}}`, param: 'stop[0]' });
    cases.push({ name: `logit_bias nested ${depth} deep`, path: CHAT, raw: `{"messages": [{"role": "user", "content": "hi"}], "logit_bias": {"5": ${nested(depth, '{"a":', '}')}}}`, param: 'logit_bias.5' });
    cases.push({ name: `unknown field nested ${depth} deep`, path: CHAT, raw: `{"extra": ${nested(depth, '{"a":', '}')}, "messages": 5}`, param: 'messages' });
    cases.push({ name: `body nested ${depth} deep`, path: '/v1/completions', raw: nested(depth, '[', ']'), status: 400 });
    cases.push({ name: `content nested ${depth} deep`, path: CHAT, raw: `{"messages": [{"role": "user", "content": ${nested(depth, '[', ']')}}]}`, status: 400 });
  }
  // Unknown fields are ignored, even with the names of Object.prototype members; the request
  // still fails for its real fault, and names it.
  const unknown = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'isPrototypeOf', '__defineGetter__', 'then', 'length', 'frobnicate', '', ' ', '\u0000', 'messages ', 'MESSAGES', 'x'.repeat(10_000), '日本語', 'best_of_n', 'functions'];
  for (const [i, key] of unknown.entries()) {
    for (const value of [5, null, { a: 1 }]) {
      cases.push({ name: `unknown field #${i} = ${JSON.stringify(value)}`, path: CHAT, raw: `{${JSON.stringify(key)}: ${JSON.stringify(value)}, "messages": [{"role": "user", "content": "hi"}], "max_tokens": -1}`, param: 'max_tokens' });
    }
  }
  // The other routes get the broken bodies too.
  rawBodies.forEach((raw, i) => cases.push({ name: `/detokenize raw body ${i}`, path: '/detokenize', raw, status: 400 }));
  messages.forEach((m, i) => cases.push({ name: `tokenize messages #${i}`, path: '/tokenize', body: { messages: m } }));
  const moreUtf8 = [[0xc0, 0xaf], [0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xe0, 0x80, 0xaf], [0xed, 0xbf, 0xbf], [0xfe], [0xf0, 0x9f, 0x98]];
  for (const path of [CHAT, '/v1/completions', '/tokenize']) {
    moreUtf8.forEach((bytes, i) => cases.push({ name: `${path} invalid utf-8 (more) ${i}`, path, raw: Buffer.concat([Buffer.from('{"prompt": "a'), Buffer.from(bytes), Buffer.from('b"}')]), status: 400 }));
  }
  badUtf8.forEach((raw, i) => cases.push({ name: `/tokenize invalid utf-8 ${i}`, path: '/tokenize', raw, status: 400 }));
  if (opts.bigBodies) {
    const MB10 = 10 * 1024 * 1024;
    cases.push({ name: '10 MB of garbage', path: CHAT, raw: Buffer.alloc(MB10, 0x41), status: 400 });
    cases.push({ name: '10 MB prompt string', path: '/v1/completions', raw: `{"prompt": "${'word '.repeat(MB10 / 5)}", "max_tokens": 2}`, param: 'prompt' });
    cases.push({ name: '10 MB message', path: CHAT, raw: `{"messages": [{"role": "user", "content": "${'word '.repeat(MB10 / 5)}"}]}`, param: 'messages' });
    cases.push({ name: '10 MB of messages', path: CHAT, raw: `{"messages": [${Array.from({ length: MB10 / 40 }, () => '{"role": "user", "content": "hi there"}').join(',')}]}`, param: 'messages' });
    cases.push({ name: '10 MB of token ids', path: '/v1/completions', raw: `{"prompt": [${Array.from({ length: MB10 / 5 }, () => '1234').join(',')}]}`, param: 'prompt' });
    cases.push({ name: '10 MB of whitespace', path: CHAT, raw: ' '.repeat(MB10), status: 400 });
    cases.push({ name: '10 MB unterminated array', path: CHAT, raw: '['.repeat(MB10), status: 400 });
    cases.push({ name: '10 MB of stop strings', path: CHAT, raw: `{"messages": [{"role": "user", "content": "hi"}], "stop": [${Array.from({ length: MB10 / 4 }, () => '"x"').join(',')}]}`, param: 'stop' });
    cases.push({ name: 'body over the limit', path: CHAT, raw: Buffer.alloc(opts.maxBodyBytes + 1, 0x20), status: 413 });
  }
  return cases;
}

/** Sends one case over fetch; returns what was wrong with the answer (empty: a proper 4xx). */
export async function checkCase(url: string, c: Case): Promise<string[]> {
  const body = c.raw ?? (c.body === undefined ? undefined : JSON.stringify(c.body));
  const res = await fetch(`${url}${c.path}`, { method: c.method ?? 'POST', headers: { 'Content-Type': 'application/json' }, ...(body !== undefined ? { body } : {}) });
  return problems(c, res.status, await res.text());
}

function problems(c: { readonly status?: number | undefined; readonly param?: string | null | undefined }, status: number, text: string): string[] {
  let err: { message?: unknown; type?: unknown; param?: unknown; code?: unknown } | undefined;
  try {
    err = (JSON.parse(text) as { error?: typeof err }).error;
  } catch {
    err = undefined;
  }
  const out: string[] = [];
  if (status < 400 || status >= 500) out.push(`status ${status}`);
  if (c.status !== undefined && status !== c.status) out.push(`status ${status}, expected ${c.status}`);
  if (!err || typeof err.message !== 'string' || typeof err.type !== 'string' || !('param' in err) || !('code' in err)) out.push(`not an error object: ${text.slice(0, 200)}`);
  else if (c.param !== undefined && err.param !== c.param) out.push(`param ${JSON.stringify(err.param)}, expected ${JSON.stringify(c.param)}`);
  return out;
}

/** A request written on a raw socket (what fetch cannot send); `chunks` go out `gapMs` apart. */
export interface WireCase {
  readonly name: string;
  readonly chunks: readonly string[];
  readonly gapMs?: number;
  readonly status: number;
}

export function wireCases(): WireCase[] {
  const body = '{"messages": "slow"}';
  const head = `POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`;
  return [
    { name: 'slow headers, one byte at a time', chunks: (head + body).split(''), gapMs: 10, status: 400 },
    { name: 'slow body', chunks: [head, ...body.split('')], gapMs: 50, status: 400 },
    { name: 'header over 16 KiB', chunks: [`GET /v1/models HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\nConnection: close\r\n\r\n`], status: 431 },
    { name: 'garbage request line', chunks: ['HELLO THERE\r\n\r\n'], status: 400 },
    { name: 'bad Content-Length', chunks: ['POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\nConnection: close\r\n\r\n{}'], status: 400 },
    { name: 'two Content-Lengths', chunks: ['POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\nConnection: close\r\n\r\n{}'], status: 400 },
    { name: 'broken chunked encoding', chunks: ['POST /v1/completions HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'], status: 400 },
    { name: 'NUL in a header', chunks: ['GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\nConnection: close\r\n\r\n'], status: 400 },
    { name: 'lying Content-Length', chunks: ['POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\nConnection: close\r\n\r\n{}'], status: 413 },
  ];
}

export async function checkWireCase(url: string, c: WireCase): Promise<string[]> {
  const { hostname, port } = new URL(url);
  const raw = await new Promise<string>((resolve, reject) => {
    const socket = connect(Number(port), hostname);
    let got = '';
    socket.on('data', (b: Buffer) => (got += b.toString('latin1')));
    socket.on('close', () => resolve(got));
    socket.on('error', (e) => (got ? resolve(got) : reject(e)));
    socket.setTimeout(30_000, () => socket.destroy());
    void (async () => {
      for (const chunk of c.chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (c.gapMs) await new Promise((r) => setTimeout(r, c.gapMs));
      }
    })();
  });
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(raw)?.[1] ?? 0);
  return problems({ status: c.status }, status, raw.slice(raw.indexOf('\r\n\r\n') + 4));
}

export interface HostileResult {
  readonly requests: number;
  readonly failures: string[];
  readonly healthyAfter: boolean;
  readonly seconds: number;
}

/** Every case in turn (the raw-socket ones alongside), then /health and one real answer. */
export async function runHostile(url: string, opts: HostileOptions): Promise<HostileResult> {
  const t0 = performance.now();
  const failures: string[] = [];
  const note = (name: string) => (p: string[]) => void (p.length > 0 && failures.push(`${name}: ${p.join('; ')}`));
  const fail = (name: string) => (e: Error) => void failures.push(`${name}: ${e.message}`);
  const wire = wireCases();
  const onWire = Promise.all(wire.map((c) => checkWireCase(url, c).then(note(c.name), fail(c.name))));
  const cases = hostileCases(opts);
  for (const c of cases) await checkCase(url, c).then(note(c.name), fail(c.name));
  await onWire;
  const health = await fetch(`${url}/health`);
  const answer = await fetch(`${url}/v1/chat/completions`, { method: 'POST', body: JSON.stringify({ messages: [{ role: 'user', content: 'still there?' }], max_tokens: 3 }) });
  if (answer.status !== 200) failures.push(`a valid request afterwards got ${answer.status}`);
  return { requests: cases.length + wire.length, failures, healthyAfter: health.status === 200, seconds: (performance.now() - t0) / 1000 };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { model: '', device: 'cpu', json: false });
  const maxBodyBytes = 16 * 1024 * 1024;
  const server = await startServerProcess([...(a.model ? ['--model', a.model] : []), '--device', a.device, '--max-body-size', '16MiB']);
  try {
    const r = await runHostile(server.url, { maxBodyBytes, bigBodies: true });
    if (a.json) console.log(JSON.stringify(r));
    else {
      console.log(`${r.requests} hostile requests in ${r.seconds.toFixed(1)} s: ${r.requests - r.failures.length} answered with a 4xx error object, ${r.failures.length} not; /health afterwards ${r.healthyAfter ? 'ok' : 'NOT ok'}`);
      for (const f of r.failures) console.log(`  ${f}`);
    }
  } finally {
    await server.stop('SIGTERM');
  }
}

if (isMain(import.meta.url)) await main();
