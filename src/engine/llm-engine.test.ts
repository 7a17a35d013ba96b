// LLMEngine against the KV-checking fake model: fast, and strict about block tables and slot reuse.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { LLMEngine } from './llm-engine.js';
import type { EngineOptions } from './engine-config.js';
import { ContextLengthExceededError, EngineConfigError, EngineDeadError, RequestTooLargeError, RequestValidationError } from './engine-errors.js';
import type { EngineEvent, GenerateRequest } from './engine-request.js';
import { normalizeSamplingParams } from './sampler.js';
import { FakeModel } from '../../test/helpers/engine-fake-model.js';
import type { FakeModelOptions } from '../../test/helpers/engine-fake-model.js';

const GREEDY = normalizeSamplingParams({ temperature: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function prompt(i: number, len: number): number[] {
  return Array.from({ length: len }, (_, k) => 2 + ((i * 31 + k * 7) % 60));
}

function engine(options: Partial<EngineOptions> = {}, model: FakeModelOptions = {}): LLMEngine {
  return new LLMEngine(new FakeModel(model), { numBlocks: 64, blockSize: 4, maxNumSeqs: 8, maxNumBatchedTokens: 32, ...options });
}

async function solo(req: GenerateRequest, model: FakeModelOptions = {}): Promise<readonly number[]> {
  const e = engine({ numBlocks: 256 }, model);
  const r = await e.generate(req);
  await e.close();
  return r.tokenIds;
}

async function collect(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const ev of events) out.push(ev);
  return out;
}

describe('LLMEngine (fake model)', () => {
  it('batches 20 concurrent requests (chunked prefills, mixed steps) with each one\'s solo output', async () => {
    const reqs = Array.from({ length: 20 }, (_, i): GenerateRequest => ({ promptIds: prompt(i, 3 + ((i * 5) % 23)), sampling: GREEDY, maxTokens: 6 + (i % 9), ignoreEos: true }));
    const expected = await Promise.all(reqs.map((r) => solo(r)));
    const e = engine({ maxNumBatchedTokens: 16 });
    const got = await Promise.all(reqs.map((r) => e.generate(r)));
    got.forEach((g, i) => {
      assert.deepEqual(g.tokenIds, expected[i], `request ${i}`);
      assert.equal(g.finishReason, 'length');
      assert.equal(g.usage.completionTokens, reqs[i]!.maxTokens);
      assert.equal(g.usage.promptTokens, reqs[i]!.promptIds.length);
    });
    const st = e.stats();
    assert.equal(st.running + st.waiting, 0);
    assert.equal(st.kvCacheUsage, 0);
    assert.equal(st.finished.length, 20);
    assert.equal(st.generationTokensTotal, reqs.reduce((n, r) => n + r.maxTokens!, 0));
    assert.equal(st.promptTokensTotal, reqs.reduce((n, r) => n + r.promptIds.length, 0));
    await e.close();
  });

  it('reproduces seeded sampling regardless of the batch', async () => {
    const sampling = normalizeSamplingParams({ temperature: 1, topP: 0.9, seed: 42 });
    const reqs = Array.from({ length: 6 }, (_, i): GenerateRequest => ({ promptIds: prompt(i, 5), sampling, maxTokens: 10, ignoreEos: true }));
    const expected = await Promise.all(reqs.map((r) => solo(r)));
    const e = engine();
    const got = await Promise.all(reqs.map((r) => e.generate(r)));
    got.forEach((g, i) => assert.deepEqual(g.tokenIds, expected[i]));
    await e.close();
  });

  it('survives a tiny KV cache by preempting, with unchanged outputs and no leaked blocks', async () => {
    const reqs = Array.from({ length: 10 }, (_, i): GenerateRequest => ({ promptIds: prompt(i, 4 + i), sampling: GREEDY, maxTokens: 12, ignoreEos: true }));
    const expected = await Promise.all(reqs.map((r) => solo(r)));
    for (const enablePrefixCaching of [true, false]) {
      const e = engine({ numBlocks: 8, enablePrefixCaching });
      const got = await Promise.all(reqs.map((r) => e.generate(r)));
      got.forEach((g, i) => assert.deepEqual(g.tokenIds, expected[i], `request ${i}, caching ${enablePrefixCaching}`));
      const st = e.stats();
      assert.ok(st.preemptionsTotal > 0, 'the cache was small enough to preempt');
      assert.equal(st.kvCacheUsage, 0);
      assert.equal(st.freeBlocks, 8);
      await e.close();
    }
  });

  it('serves a shared prefix from the cache and reports cached tokens', async () => {
    const shared = prompt(3, 18);
    const a: GenerateRequest = { promptIds: [...shared, 5], sampling: GREEDY, maxTokens: 4, ignoreEos: true };
    const b: GenerateRequest = { promptIds: [...shared, 9, 10], sampling: GREEDY, maxTokens: 4, ignoreEos: true };
    const expectedB = await solo(b);
    const e = engine();
    const ra = await e.generate(a);
    assert.equal(ra.usage.cachedTokens, 0);
    const rb = await e.generate(b);
    assert.equal(rb.usage.cachedTokens, 16);
    assert.deepEqual(rb.tokenIds, expectedB);
    assert.equal(e.stats().prefixCacheHits, 16);
    await e.close();
  });

  it('finishes on EOS, stop ids, max tokens, min tokens and the stop hook', async () => {
    const e = engine();
    const base = { promptIds: prompt(1, 6), sampling: GREEDY };
    const free = await e.generate({ ...base, maxTokens: 8, ignoreEos: true });
    assert.equal(free.finishReason, 'length');

    const third = free.tokenIds[2]!;
    const stopped = await e.generate({ ...base, maxTokens: 8, ignoreEos: true, stopTokenIds: [third] });
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.stopTokenId, third);
    assert.deepEqual(stopped.tokenIds, free.tokenIds.slice(0, free.tokenIds.indexOf(third) + 1));

    const eos = normalizeSamplingParams({ temperature: 0, logitBias: { '1': 100 } });
    const r = await e.generate({ ...base, sampling: eos, maxTokens: 8 });
    assert.deepEqual([r.finishReason, r.stopTokenId, r.tokenIds], ['stop', 1, [1]]);
    const ignored = await e.generate({ ...base, sampling: eos, maxTokens: 3, ignoreEos: true });
    assert.deepEqual([ignored.finishReason, ignored.tokenIds], ['length', [1, 1, 1]]);
    const minTokens = await e.generate({ ...base, sampling: eos, maxTokens: 8, minTokens: 2 });
    assert.equal(minTokens.tokenIds.length, 3);
    assert.notEqual(minTokens.tokenIds[0], 1);
    assert.equal(minTokens.tokenIds[2], 1);

    const hooked = await e.generate({ ...base, maxTokens: 8, ignoreEos: true, stopCheck: (_id, out) => out.length === 2 });
    assert.deepEqual([hooked.finishReason, hooked.stopTokenId, hooked.tokenIds], ['stop', null, free.tokenIds.slice(0, 2)]);
    await e.close();
  });

  it('streams token events with logprobs, then one finish event', async () => {
    const e = engine();
    const sampling = normalizeSamplingParams({ temperature: 0, logprobs: true, topLogprobs: 2 });
    const events = await collect(e.addRequest({ promptIds: prompt(2, 5), sampling, maxTokens: 3, ignoreEos: true }));
    assert.deepEqual(events.map((ev) => ev.type), ['token', 'token', 'token', 'finish']);
    const first = events[0]!;
    assert.ok(first.type === 'token' && first.index === 0 && first.rank === 1 && first.topLogprobs?.length === 2 && first.logprob! <= 0);
    await e.close();
  });

  it('aborts running and waiting requests at once, freeing every block', async () => {
    const e = engine({ maxNumSeqs: 2 }, { delayMs: 5 });
    const handles = Array.from({ length: 4 }, (_, i) => e.addRequest({ promptIds: prompt(i, 9), sampling: GREEDY, maxTokens: 200, ignoreEos: true }));
    const done = handles.map((h, i) => (i === 1 ? Promise.resolve([]) : collect(h))); // 1 is read below
    while (e.stats().generationTokensTotal < 6) await sleep(2);
    assert.deepEqual([e.stats().running, e.stats().waiting], [2, 2]);
    assert.ok(e.abort(handles[3]!.requestId), 'waiting request');
    handles[0]!.abort(); // running, possibly with a step in flight
    assert.equal(e.abort(handles[0]!.requestId), false, 'already gone');
    assert.deepEqual([e.stats().running, e.stats().waiting], [1, 1]);
    const ev3 = await done[3]!;
    assert.deepEqual(ev3.map((x) => x.type), ['finish']);
    assert.ok(ev3[0]!.type === 'finish' && ev3[0]!.finishReason === 'abort' && ev3[0]!.usage.completionTokens === 0);
    const last0 = (await done[0]!).at(-1)!;
    assert.ok(last0.type === 'finish' && last0.finishReason === 'abort');

    // Leaving a for-await loop early aborts the request too.
    let seen = 0;
    for await (const ev of handles[1]!) if (ev.type === 'token' && ++seen === 2) break;
    assert.equal(e.abort(handles[1]!.requestId), false);
    handles[2]!.abort();
    await done[2];
    await sleep(20);
    const st = e.stats();
    assert.deepEqual([st.running, st.waiting, st.kvCacheUsage], [0, 0, 0]);
    assert.equal(st.finished.abort, 4);
    await e.close();
  });

  it('returns from addRequest at once and batches requests added in the same tick', async () => {
    const model = new FakeModel();
    const e = new LLMEngine(model, { numBlocks: 16, blockSize: 4 });
    const handles = Array.from({ length: 8 }, (_, i) => e.addRequest({ promptIds: [2 + i, 3], sampling: GREEDY, maxTokens: 1 }));
    assert.equal(model.forwardCalls, 0);
    await Promise.all(handles.map((h) => collect(h)));
    assert.equal(model.forwardCalls, 1);
    // waking from idle: again one step for everything added before the loop resumes
    const more = Array.from({ length: 3 }, (_, i) => e.addRequest({ promptIds: [20 + i], sampling: GREEDY, maxTokens: 1 }));
    assert.equal(model.forwardCalls, 1);
    await Promise.all(more.map((h) => collect(h)));
    assert.equal(model.forwardCalls, 2);
    await e.close();
  });

  it('idles without stepping when there is no work, and wakes for new requests', async () => {
    const model = new FakeModel();
    const e = new LLMEngine(model, { numBlocks: 16, blockSize: 4 });
    await e.generate({ promptIds: [3, 4], sampling: GREEDY, maxTokens: 2, ignoreEos: true });
    const calls = model.forwardCalls;
    const steps = e.stats().stepsTotal;
    await sleep(30);
    assert.equal(model.forwardCalls, calls);
    assert.equal(e.stats().stepsTotal, steps);
    assert.ok(e.stats().lastStepAt !== null && e.stats().stepStartedAt === null);
    await e.generate({ promptIds: [5], sampling: GREEDY, maxTokens: 1 });
    assert.equal(model.forwardCalls, calls + 1);
    await e.close();
  });

  it('shows a step in flight to the watchdog', async () => {
    const e = engine({}, { delayMs: 200 });
    const r = e.generate({ promptIds: [3, 4], sampling: GREEDY, maxTokens: 1 });
    for (let i = 0; i < 100 && e.stats().stepStartedAt === null; i++) await sleep(1);
    assert.ok(e.stats().stepStartedAt !== null);
    await sleep(10);
    assert.equal(e.health(5).ok, false);
    assert.match(e.health(5).reason!, /step has been running/);
    assert.equal(e.health().ok, true);
    await r;
    await e.close();
  });

  it('fails every request and refuses new ones after a failed step', async () => {
    const e = engine({}, { failOnCall: 2, delayMs: 1 });
    const a = collect(e.addRequest({ promptIds: prompt(1, 4), sampling: GREEDY, maxTokens: 5, ignoreEos: true }));
    const b = collect(e.addRequest({ promptIds: prompt(2, 4), sampling: GREEDY, maxTokens: 5, ignoreEos: true }));
    await assert.rejects(a, EngineDeadError);
    await assert.rejects(b, (err: unknown) => err instanceof EngineDeadError && /simulated device failure/.test(err.message));
    assert.throws(() => e.addRequest({ promptIds: [2] }), EngineDeadError);
    assert.equal(e.health().ok, false);
    assert.equal(e.stats().dead, true);
  });

  it('rejects impossible requests before admission with typed errors', async () => {
    const e = new LLMEngine(new FakeModel({ maxPositionEmbeddings: 32 }), { numBlocks: 4, blockSize: 4, maxNumSeqs: 2, maxNumBatchedTokens: 8 });
    assert.throws(() => e.addRequest({ promptIds: prompt(1, 10), maxTokens: 30 }), (err: unknown) => err instanceof ContextLengthExceededError && err.code === 'context_length_exceeded' && err.param === 'max_tokens');
    assert.throws(() => e.addRequest({ promptIds: prompt(1, 32) }), ContextLengthExceededError);
    assert.throws(() => e.addRequest({ promptIds: prompt(1, 10), maxTokens: 8 }), (err: unknown) => err instanceof RequestTooLargeError && /needs up to 17 cached tokens but the cache holds 16/.test(err.message));
    assert.throws(() => e.addRequest({ promptIds: [] }), (err: unknown) => err instanceof RequestValidationError && err.param === 'prompt');
    assert.throws(() => e.addRequest({ promptIds: [1, 64] }), (err: unknown) => err instanceof RequestValidationError && err.param === 'prompt[1]');
    assert.throws(() => e.addRequest({ promptIds: [1], maxTokens: 0 }), (err: unknown) => err instanceof RequestValidationError && err.param === 'max_tokens');
    assert.throws(() => e.addRequest({ promptIds: [1], stopTokenIds: [-1] }), (err: unknown) => err instanceof RequestValidationError && err.param === 'stop_token_ids[0]');
    assert.throws(() => e.addRequest({ promptIds: [1], maxTokens: 2, minTokens: 3 }), (err: unknown) => err instanceof RequestValidationError && err.param === 'min_tokens');
    // the default max_tokens is what both the context and the cache allow
    const r = await e.generate({ promptIds: prompt(1, 10), sampling: GREEDY, ignoreEos: true });
    assert.equal(r.tokenIds.length, 7);
    const h = e.addRequest({ requestId: 'x', promptIds: [2], maxTokens: 1 });
    assert.throws(() => e.addRequest({ requestId: 'x', promptIds: [2] }), (err: unknown) => err instanceof RequestValidationError && err.param === 'request_id');
    await collect(h);
    assert.equal(e.stats().kvCacheUsage, 0);
    await e.close();
    assert.throws(() => e.addRequest({ promptIds: [2] }), EngineDeadError);
  });

  it('validates its options', () => {
    const m = new FakeModel({ maxPositionEmbeddings: 100 });
    const bad: Array<[EngineOptions, string]> = [
      [{}, 'kvCacheTokens'],
      [{ numBlocks: 4, kvCacheTokens: 64 }, 'numBlocks'],
      [{ numBlocks: 0 }, 'numBlocks'],
      [{ numBlocks: 4, blockSize: 2.5 }, 'blockSize'],
      [{ numBlocks: 4, maxNumSeqs: 16, maxNumBatchedTokens: 8 }, 'maxNumBatchedTokens'],
      [{ numBlocks: 4, maxModelLen: 101 }, 'maxModelLen'],
      [{ numBlocks: 4, eosTokenIds: [64] }, 'eosTokenIds'],
    ];
    for (const [opts, option] of bad) {
      assert.throws(() => new LLMEngine(m, opts), (err: unknown) => err instanceof EngineConfigError && err.option === option, option);
    }
    const e = new LLMEngine(m, { kvCacheTokens: 100 });
    assert.deepEqual([e.config.numBlocks, e.config.blockSize, e.config.maxModelLen, e.config.enablePrefixCaching], [2, 64, 100, true]);
  });
});
