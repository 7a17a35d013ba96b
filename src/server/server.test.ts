// `tessera serve` as a real process on 127.0.0.1, driven by the official `openai` client and by raw
// HTTP where the wire format itself is under test. The model is a random tiny DeepSeek-V3.2 with
// the real DeepSeek tokenizer: outputs are gibberish, so tests compare mechanics (exact greedy
// token streams, SSE framing, usage, errors), never text quality. One server serves every case.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { execFile } from 'node:child_process';
import { cliPath } from '../../test/helpers/cli.js';
import { makeTextModelDir, stopAcrossTokens } from '../../test/helpers/text-models.js';
import { parseSse, startServerProcess } from '../../test/helpers/server-process.js';
import type { ServerProcess } from '../../test/helpers/server-process.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { loadTextTokenizer } from '../text/index.js';

const KEY = 'test-key-1';
const ORIGIN = 'http://allowed.example';

interface Json {
  [k: string]: unknown;
}

describe('tessera serve (real process, openai client)', () => {
  let fixture: FixtureDir;
  let server: ServerProcess;
  let client: OpenAI;
  let model: string;

  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${server.url}${path}`, { method: 'POST', headers: { Authorization: `Bearer ${KEY}`, 'Content-Type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const metric = async (name: string): Promise<number> => {
    const text = await (await fetch(`${server.url}/metrics`)).text();
    const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `metric ${name} missing`);
    return Number(m[1]);
  };
  const greedyChat = async (content: string, max = 8): Promise<string> => {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content }], max_tokens: max, temperature: 0, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    return r.choices[0]!.message.content ?? '';
  };

  before(async () => {
    fixture = await makeTextModelDir('v32');
    server = await startServerProcess([
      '--model', fixture.dir, '--device', 'cpu', '--api-key', KEY, '--api-key', 'test-key-2',
      '--allowed-origin', ORIGIN, '--sse-keepalive', '0.05', '--block-size', '16', '--served-model-name', 'tiny', '--shutdown-timeout', '300',
    ]);
    client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
    model = 'tiny';
  });
  after(async () => {
    await server?.stop('SIGKILL');
    await fixture?.dispose();
  });

  it('lists the model; /health and /metrics need no key, /v1 does', async () => {
    const models = await client.models.list();
    assert.deepEqual(models.data.map((m) => m.id), ['tiny']);
    assert.equal((await fetch(`${server.url}/health`)).status, 200);
    assert.equal((await fetch(`${server.url}/metrics`)).status, 200);
    const bad = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'wrong', maxRetries: 0 });
    await assert.rejects(bad.models.list(), (e: unknown) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
    const none = await fetch(`${server.url}/v1/models`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: Json }).error['type'], 'invalid_request_error');
    const second = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'test-key-2', maxRetries: 0 });
    assert.equal((await second.models.list()).data.length, 1);
    await assert.rejects(client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'x' }] }), (e: unknown) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found');
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const ok = await fetch(`${server.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: ORIGIN, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization,content-type' } });
    assert.equal(ok.status, 204);
    assert.equal(ok.headers.get('access-control-allow-origin'), ORIGIN);
    assert.match(ok.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const no = await fetch(`${server.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { Origin: 'http://evil.example' } });
    assert.equal(no.status, 403);
    assert.equal(no.headers.get('access-control-allow-origin'), null);
  });

  it('chat: non-streaming and streaming agree; usage counts prompt and completion tokens', async () => {
    const messages = [{ role: 'user' as const, content: 'Hello, who are you?' }];
    const r = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0 });
    const choice = r.choices[0]!;
    assert.equal(choice.message.role, 'assistant');
    assert.ok(['length', 'stop'].includes(choice.finish_reason));
    const tokenized = (await (await post('/tokenize', { messages })).json()) as { count: number };
    assert.equal(r.usage?.prompt_tokens, tokenized.count);
    assert.equal(r.usage?.total_tokens, r.usage!.prompt_tokens + r.usage!.completion_tokens);
    const stream = await client.chat.completions.create({ model, messages, max_tokens: 6, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      if (chunk.usage) usage = chunk.usage;
    }
    assert.equal(text, choice.message.content);
    assert.equal(finish, choice.finish_reason);
    assert.deepEqual(usage, r.usage);
  });

  it('SSE framing: role delta first, content deltas, one finish_reason, usage chunk with choices [], [DONE]', async () => {
    const res = await post('/v1/chat/completions', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const sse = parseSse(await res.text());
    assert.ok(sse.done, 'ends with data: [DONE]');
    const chunks = sse.events as Array<{ id: string; object: string; choices: Array<{ index: number; delta: Json; finish_reason: string | null }>; usage: Json | null }>;
    assert.ok(chunks.every((c) => c.object === 'chat.completion.chunk' && c.id === chunks[0]!.id));
    assert.deepEqual(chunks[0]!.choices[0]!.delta, { role: 'assistant', content: '' });
    const last = chunks.at(-1)!;
    assert.deepEqual(last.choices, []);
    assert.equal(last.usage?.['completion_tokens'], 5);
    const body = chunks.slice(1, -1);
    assert.ok(body.every((c) => c.usage === null), 'usage is null on every other chunk');
    const finishes = body.filter((c) => c.choices[0]!.finish_reason !== null);
    assert.equal(finishes.length, 1);
    assert.equal(finishes[0], body.at(-1), 'finish_reason comes on the last choice chunk');
    assert.equal(finishes[0]!.choices[0]!.finish_reason, 'length');
  });

  it('completions: text, streaming, echo with prompt logprobs, max_tokens 0 scores only', async () => {
    const prompt = 'The capital of France is';
    const r = await client.completions.create({ model, prompt, max_tokens: 5, temperature: 0 });
    assert.equal(r.object, 'text_completion');
    const stream = await client.completions.create({ model, prompt, max_tokens: 5, temperature: 0, stream: true });
    let text = '';
    for await (const c of stream) text += c.choices[0]?.text ?? '';
    assert.equal(text, r.choices[0]!.text);

    const echo = await client.completions.create({ model, prompt, max_tokens: 3, temperature: 0, echo: true, logprobs: 2 });
    const c = echo.choices[0]!;
    assert.ok(c.text.startsWith(prompt));
    assert.equal(c.text, prompt + r.choices[0]!.text.slice(0, c.text.length - prompt.length));
    const lp = c.logprobs!;
    const promptTokens = echo.usage!.prompt_tokens;
    assert.equal(lp.tokens!.length, promptTokens + echo.usage!.completion_tokens);
    assert.equal(lp.token_logprobs![0], null, 'the first prompt token has no logprob');
    assert.ok(lp.token_logprobs!.slice(1).every((x) => typeof x === 'number' && x <= 0));
    assert.equal(lp.top_logprobs![0], null);
    assert.equal(Object.keys(lp.top_logprobs![1]!).length, 2);
    assert.equal(lp.tokens!.slice(0, promptTokens).join(''), prompt);
    assert.deepEqual(lp.text_offset!.slice(0, 2), [0, lp.tokens![0]!.length]);

    const score = await client.completions.create({ model, prompt, max_tokens: 0, echo: true, logprobs: 0 });
    assert.equal(score.choices[0]!.text, prompt);
    assert.deepEqual(score.choices[0]!.logprobs!.token_logprobs, lp.token_logprobs!.slice(0, promptTokens));
    assert.equal(score.usage?.completion_tokens, 0);
  });

  it('a stop string spanning tokens cuts the text, finish_reason stop, stop_reason names it', async () => {
    const prompt = 'Once upon a time';
    const full = await client.completions.create({ model, prompt, max_tokens: 24, temperature: 0, logprobs: 0, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
    const text = full.choices[0]!.text;
    const found = stopAcrossTokens(full.choices[0]!.logprobs!.tokens!, text);
    assert.ok(found, `no clean token boundary in ${JSON.stringify(full.choices[0]!.logprobs!.tokens)}`);
    const { stop } = found;
    for (const stream of [false, true]) {
      const body = { prompt, max_tokens: 24, temperature: 0, ignore_eos: true, stop: [stop], stream };
      const res = await post('/v1/completions', body);
      let got = '';
      let finish: Json | undefined;
      if (stream) {
        for (const ev of parseSse(await res.text()).events as Array<{ choices: Json[] }>) {
          got += String(ev.choices[0]?.['text'] ?? '');
          if (ev.choices[0]?.['finish_reason']) finish = ev.choices[0];
        }
      } else {
        const j = (await res.json()) as { choices: Json[]; usage: Json };
        got = String(j.choices[0]!['text']);
        finish = j.choices[0];
        assert.equal(j.usage['completion_tokens'], found.tokens, 'generation ended at the token completing the stop string');
      }
      assert.equal(got, text.slice(0, text.indexOf(stop)));
      assert.equal(finish?.['finish_reason'], 'stop');
      assert.equal(finish?.['stop_reason'], stop);
    }
  });

  it('n > 1 with a seed: reproducible, and choice i equals one request with seed + i', async () => {
    const messages = [{ role: 'user' as const, content: 'Pick a word' }];
    const many = await client.chat.completions.create({ model, messages, n: 3, seed: 11, temperature: 1, max_tokens: 6 });
    assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2]);
    const again = await client.chat.completions.create({ model, messages, n: 3, seed: 11, temperature: 1, max_tokens: 6 });
    assert.deepEqual(again.choices.map((c) => c.message.content), many.choices.map((c) => c.message.content));
    const single = await client.chat.completions.create({ model, messages, seed: 12, temperature: 1, max_tokens: 6 });
    assert.equal(single.choices[0]!.message.content, many.choices[1]!.message.content);
    const fixed = await client.chat.completions.create({ model, messages, n: 3, seed: 11, temperature: 1, max_tokens: 6, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    assert.equal(fixed.usage!.completion_tokens, 18, 'usage sums the choices');
    assert.equal(fixed.usage!.prompt_tokens, many.usage!.prompt_tokens, 'and counts the prompt once');
    const stream = await client.chat.completions.create({ model, messages, n: 3, seed: 11, temperature: 1, max_tokens: 6, stream: true });
    const texts = ['', '', ''];
    for await (const chunk of stream) for (const ch of chunk.choices) texts[ch.index] += ch.delta.content ?? '';
    assert.deepEqual(texts, many.choices.map((c) => c.message.content));
  });

  it('logprobs and top_logprobs on chat', async () => {
    const r = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 3 });
    const content = r.choices[0]!.logprobs!.content!;
    assert.equal(content.length, r.usage!.completion_tokens);
    for (const t of content) {
      assert.ok(t.logprob <= 0);
      assert.equal(t.top_logprobs.length, 3);
      assert.equal(t.top_logprobs[0]!.token, t.token, 'greedy picks the top token');
      assert.ok(Math.abs(t.top_logprobs[0]!.logprob - t.logprob) < 1e-6);
      if (!t.token.includes('\uFFFD')) assert.equal(Buffer.from(t.bytes!).toString('utf8'), t.token);
    }
  });

  it('16 concurrent streams give exactly the greedy outputs of solo runs', async () => {
    const prompts = Array.from({ length: 16 }, (_, i) => `Request ${i}: ${'tell me something about the number '.repeat(1 + (i % 4))}${i * 7}`);
    const solo: string[] = [];
    for (const p of prompts) solo.push(await greedyChat(p, 10));
    const concurrent = await Promise.all(
      prompts.map(async (p) => {
        const s = await client.chat.completions.create({ model, messages: [{ role: 'user', content: p }], max_tokens: 10, temperature: 0, ignore_eos: true, stream: true } as OpenAI.ChatCompletionCreateParamsStreaming);
        let text = '';
        for await (const c of s) text += c.choices[0]?.delta.content ?? '';
        return text;
      }),
    );
    assert.deepEqual(concurrent, solo);
  });

  it('100 requests with a random tenth disconnecting mid-stream leave no running request and no used block', async () => {
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const drop = new Set<number>();
    while (drop.size < 10) drop.add(Math.floor(rand() * 100));
    const one = async (i: number): Promise<'ok' | 'dropped'> => {
      const ac = new AbortController();
      const res = await post('/v1/chat/completions', { messages: [{ role: 'user', content: `message ${i}` }], max_tokens: drop.has(i) ? 60 : 4, ignore_eos: true, stream: true }, {});
      const reader = res.body!.getReader();
      let seen = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return 'ok';
        seen += value.length;
        if (drop.has(i) && seen > 600) {
          ac.abort();
          await reader.cancel();
          return 'dropped';
        }
      }
    };
    const results: string[] = [];
    for (let start = 0; start < 100; start += 25) results.push(...(await Promise.all(Array.from({ length: 25 }, (_, k) => one(start + k)))));
    assert.equal(results.filter((r) => r === 'dropped').length, 10);
    // Aborts land within one engine step; give the server a moment to observe the closed sockets.
    for (let t = 0; t < 100 && ((await metric('vllm:num_requests_running')) > 0 || (await metric('vllm:kv_cache_usage_perc')) > 0); t++) await new Promise((r) => setTimeout(r, 50));
    assert.equal(await metric('vllm:num_requests_running'), 0);
    assert.equal(await metric('vllm:num_requests_waiting'), 0);
    assert.equal(await metric('vllm:kv_cache_usage_perc'), 0);
    const aborted = Number(/finished_reason="abort"\} (\d+)/.exec(await (await fetch(`${server.url}/metrics`)).text())?.[1]);
    assert.ok(aborted >= 10, `the disconnected requests were aborted (${aborted})`);
    assert.ok((await metric('vllm:time_to_first_token_seconds_count')) >= 100);
  });

  it('/tokenize and /detokenize round-trip', async () => {
    const t = (await (await post('/tokenize', { prompt: 'Hello world', add_special_tokens: false })).json()) as { tokens: number[]; count: number; max_model_len: number };
    const local = await loadTextTokenizer(fixture.dir);
    assert.deepEqual(t.tokens, local.tokenizer.encode('Hello world', { addSpecialTokens: false }));
    assert.equal(t.max_model_len, 512);
    const d = (await (await post('/detokenize', { tokens: t.tokens })).json()) as { prompt: string };
    assert.equal(d.prompt, 'Hello world');
  });

  it('tessera bench serve reports TTFT, TPOT, ITL, E2EL and throughput with no failures', async () => {
    const r = await runCliAsync(['bench', 'serve', '--url', server.url, '--api-key', KEY, '--model', model, '--concurrency', '4', '--requests', '8', '--input-len', '16', '--output-len', '6', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const report = JSON.parse(r.stdout) as { successful: number; failed: number; total_output_tokens: number; ttft_ms: { mean: number }; tpot_ms: { median: number }; itl_ms: { p99: number }; e2el_ms: { mean: number }; output_throughput: number };
    assert.deepEqual([report.successful, report.failed, report.total_output_tokens], [8, 0, 48]);
    assert.ok(report.ttft_ms.mean > 0 && report.tpot_ms.median > 0 && report.itl_ms.p99 > 0 && report.output_throughput > 0);
    assert.ok(report.e2el_ms.mean >= report.ttft_ms.mean);
    const bad = await runCliAsync(['bench', 'serve', '--url', server.url, '--requests', '2', '--json']);
    assert.equal(bad.code, 1, 'every request failed (no API key)');
    assert.equal((JSON.parse(bad.stdout) as { failed: number }).failed, 2);
  });

  it('SIGTERM: refuses new work with 503, drains the request in flight, exits 0', async () => {
    // Long enough to still run after the checks below on a fast machine; --shutdown-timeout 300 lets it finish on a slow one.
    const res = await post('/v1/completions', { prompt: 'long one', max_tokens: 250, temperature: 0, ignore_eos: true, stream: true });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    while (!raw.includes('"text"')) raw += decoder.decode((await reader.read()).value);
    server.proc.kill('SIGTERM');
    // The signal is handled between engine steps; /health turns 503 once it has been.
    for (let t = 0; t < 200 && (await fetch(`${server.url}/health`)).status === 200; t++) await new Promise((r) => setTimeout(r, 20));
    const refused = await post('/v1/completions', { prompt: 'late', max_tokens: 2 });
    assert.equal(refused.status, 503);
    assert.equal(((await refused.json()) as { error: Json }).error['code'], 'shutting_down');
    assert.equal((await fetch(`${server.url}/health`)).status, 503);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      raw += decoder.decode(value);
    }
    const events = parseSse(raw);
    assert.ok(events.done, 'the in-flight stream was completed');
    const last = events.events.at(-1) as { choices: Json[] };
    assert.equal(last.choices[0]!['finish_reason'], 'length');
    assert.equal(await server.exited, 0);
    assert.match(server.stderr(), /drained; bye/);
  });
});

/** The CLI as a child process without blocking this process's event loop (its pooled sockets must stay serviced). */
function runCliAsync(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}
