// A real `tessera serve` process with a tiny KV cache: preemption must not change any answer, and
// hundreds of malformed or hostile requests (bench/hostile-requests.ts) must each get a 4xx OpenAI error object while the
// server keeps serving.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { makeTextModelDir } from '../../test/helpers/text-models.js';
import { startServerProcess } from '../../test/helpers/server-process.js';
import type { ServerProcess } from '../../test/helpers/server-process.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { runHostile } from '../../bench/hostile-requests.js';

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

  it('answers 500+ malformed or hostile requests (and broken HTTP) with a 4xx OpenAI error object and keeps serving', async (t) => {
    const r = await runHostile(server.url, { maxBodyBytes: 64 * 1024, bigBodies: false });
    t.diagnostic(`${r.requests} hostile requests in ${r.seconds.toFixed(1)} s`);
    assert.ok(r.requests >= 500, `${r.requests} cases`);
    assert.deepEqual(r.failures, []);
    assert.ok(r.healthyAfter);
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
