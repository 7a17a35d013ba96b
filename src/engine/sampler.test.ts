import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyPenalties, createRng, normalizeSamplingParams, sampleBatch, sampleRow, SamplingParamsError, Xoshiro128,
} from './sampler.js';
import type { Rng, SampleContext, SamplingParams, SamplingParamsInput } from './sampler.js';

const PROBS = [0.5, 0.3, 0.15, 0.05];
const LOGITS = Float32Array.from(PROBS, (p) => Math.log(p) + 3); // any shift gives the same softmax

function ctx(params: SamplingParams, rng: Rng = createRng(1), extra: Partial<SampleContext> = {}): SampleContext {
  return { params, rng, promptIds: [], outputIds: [], ...extra };
}

function histogram(logits: Float32Array, input: SamplingParamsInput, draws: number, seed = 7): number[] {
  const params = normalizeSamplingParams(input);
  const rng = createRng(seed);
  const counts = new Array<number>(logits.length).fill(0);
  for (let i = 0; i < draws; i++) {
    const id = sampleRow(logits, ctx(params, rng)).id;
    counts[id] = (counts[id] ?? 0) + 1;
  }
  return counts;
}

function assertClose(actual: number, expected: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual} not within ${tolerance} of ${expected}`);
}

describe('normalizeSamplingParams', () => {
  it('fills neutral defaults and generation_config defaults', () => {
    assert.deepEqual(normalizeSamplingParams({}), {
      temperature: 1, topP: 1, topK: 0, minP: 0, repetitionPenalty: 1, frequencyPenalty: 0, presencePenalty: 0,
      logitBias: new Map(), seed: undefined, logprobs: false, topLogprobs: 0,
    });
    const p = normalizeSamplingParams({ temperature: 0.2, topK: -1, logitBias: { '42': 5 }, seed: 3 }, { temperature: 0.6, topP: 0.95 });
    assert.equal(p.temperature, 0.2);
    assert.equal(p.topP, 0.95);
    assert.equal(p.topK, 0);
    assert.deepEqual([...p.logitBias], [[42, 5]]);
    assert.ok(Object.isFrozen(p));
  });

  it('names the bad field', () => {
    const cases: Array<[SamplingParamsInput, string, RegExp]> = [
      [{ topP: 0 }, 'top_p', /^top_p must be in \(0, 1\]$/],
      [{ topP: 1.5 }, 'top_p', /in \(0, 1\]/],
      [{ temperature: -0.1 }, 'temperature', />= 0/],
      [{ temperature: Number.NaN }, 'temperature', /finite/],
      [{ topK: 2.5 }, 'top_k', /positive integer/],
      [{ minP: 1.1 }, 'min_p', /\[0, 1\]/],
      [{ repetitionPenalty: 0 }, 'repetition_penalty', /> 0/],
      [{ frequencyPenalty: 2.5 }, 'frequency_penalty', /\[-2, 2\]/],
      [{ presencePenalty: -3 }, 'presence_penalty', /\[-2, 2\]/],
      [{ seed: 1.5 }, 'seed', /integer/],
      [{ logprobs: true, topLogprobs: 21 }, 'top_logprobs', /\[0, 20\]/],
      [{ topLogprobs: 2 }, 'top_logprobs', /requires logprobs/],
      [{ logitBias: { abc: 1 } }, 'logit_bias[abc]', /token id/],
      [{ logitBias: { '5': 101 } }, 'logit_bias[5]', /\[-100, 100\]/],
    ];
    for (const [input, field, message] of cases) {
      assert.throws(() => normalizeSamplingParams(input), (err: unknown) => {
        assert.ok(err instanceof SamplingParamsError, field);
        assert.equal(err.field, field);
        assert.match(err.message, message);
        return true;
      });
    }
    assert.throws(() => normalizeSamplingParams({ logitBias: new Map([[10, 1]]) }, {}, 10), (e: unknown) => e instanceof SamplingParamsError && e.field === 'logit_bias[10]');
  });
});

describe('seeded RNG', () => {
  it('is xoshiro128** (reference vector for state 1,2,3,4)', () => {
    const rng = new Xoshiro128([1, 2, 3, 4]);
    assert.deepEqual(Array.from({ length: 6 }, () => rng.nextUint32()), [11520, 0, 5927040, 70819200, 2031721883, 1637235492]);
  });

  it('gives pinned values per seed, including negative and > 32-bit seeds', () => {
    const a = createRng(42);
    assert.deepEqual([a.nextFloat(), a.nextFloat(), a.nextFloat()], [0.858277668765418, 0.8372806662435736, 0.09126945075841175]);
    assert.equal(createRng(-7).nextFloat(), 0.5808450196160734);
    assert.equal(createRng(2 ** 40 + 3).nextFloat(), 0.10426452753565019);
    assert.notEqual(createRng(3).nextFloat(), createRng(2 ** 32 + 3).nextFloat());
  });
});

describe('greedy', () => {
  it('takes the argmax, lowest id on ties', () => {
    const p = normalizeSamplingParams({ temperature: 0 });
    assert.equal(sampleRow(Float32Array.of(1, 5, 5, -2), ctx(p)).id, 1);
  });

  it('applies logit bias and blocked ids first', () => {
    const biased = normalizeSamplingParams({ temperature: 0, logitBias: { '3': 8 } });
    assert.equal(sampleRow(Float32Array.of(1, 5, 4, -2), ctx(biased)).id, 3);
    const p = normalizeSamplingParams({ temperature: 0 });
    assert.equal(sampleRow(Float32Array.of(1, 5, 4, -2), ctx(p, createRng(1), { blockedIds: [1] })).id, 2);
    assert.throws(() => sampleRow(Float32Array.of(1, 2), ctx(p, createRng(1), { blockedIds: [0, 1] })), RangeError);
  });

  it('is what a temperature near zero converges to', () => {
    const logits = Float32Array.of(0.3, 2.9, 2.0, 2.85);
    const greedy = sampleRow(logits, ctx(normalizeSamplingParams({ temperature: 0 }))).id;
    assert.equal(greedy, 1);
    assert.equal(sampleRow(logits, ctx(normalizeSamplingParams({ temperature: 1e-6 }))).id, greedy, 'below epsilon is greedy');
    const cold = histogram(logits, { temperature: 0.002 }, 500);
    assert.equal(cold[greedy], 500, 'at T=0.002 the runner-up has probability e^-25');
  });
});

describe('penalties', () => {
  it('match vLLM arithmetic on hand-made logits', () => {
    const params = normalizeSamplingParams({ repetitionPenalty: 2, frequencyPenalty: 0.5, presencePenalty: 0.25 });
    const out = applyPenalties(Float32Array.of(2, -1, 0.5, 3, 1), ctx(params, createRng(1), { promptIds: [0, 4], outputIds: [1, 1, 3] }));
    // id0 prompt: 2/2; id1 output x2: -1*2 - 0.5*2 - 0.25; id2 unseen; id3 output x1: 3/2 - 0.5 - 0.25; id4 prompt: 1/2
    assert.deepEqual([...out], [1, -3.25, 0.5, 0.75, 0.5]);
  });

  it('leaves the input row untouched and penalties change greedy choice', () => {
    const row = Float32Array.of(2, 1.9);
    const params = normalizeSamplingParams({ temperature: 0, presencePenalty: 0.2 });
    assert.equal(sampleRow(row, ctx(params, createRng(1), { outputIds: [0] })).id, 1);
    assert.deepEqual([...row], [2, Math.fround(1.9)]);
  });
});

describe('random sampling', () => {
  it('reproduces the same tokens for the same seed', () => {
    const params = normalizeSamplingParams({ temperature: 0.9, topP: 0.9, seed: 1234 });
    const run = (): number[] => {
      const rng = createRng(params.seed);
      return Array.from({ length: 64 }, () => sampleRow(LOGITS, ctx(params, rng)).id);
    };
    const first = run();
    assert.deepEqual(run(), first);
    const other = createRng(99);
    assert.notDeepEqual(Array.from({ length: 64 }, () => sampleRow(LOGITS, ctx(params, other)).id), first);
  });

  it('follows the softmax at temperature 1', () => {
    const counts = histogram(LOGITS, {}, 20000);
    PROBS.forEach((p, i) => assertClose((counts[i] ?? 0) / 20000, p, 0.015, `token ${i}`));
  });

  it('flattens with temperature 2 (p^(1/2) renormalized)', () => {
    const counts = histogram(LOGITS, { temperature: 2 }, 20000);
    const root = PROBS.map(Math.sqrt);
    const z = root.reduce((a, b) => a + b, 0);
    root.forEach((r, i) => assertClose((counts[i] ?? 0) / 20000, r / z, 0.015, `token ${i}`));
  });

  it('never samples outside the top-p nucleus', () => {
    const counts = histogram(LOGITS, { topP: 0.7 }, 5000);
    assert.equal(counts[2], 0);
    assert.equal(counts[3], 0);
    assertClose((counts[0] ?? 0) / 5000, 0.5 / 0.8, 0.03, 'renormalized nucleus');
    assert.deepEqual(histogram(LOGITS, { topP: 0.45 }, 200), [200, 0, 0, 0]);
  });

  it('keeps only the top-k tokens, and min_p drops tokens below min_p * max prob', () => {
    const topK = histogram(LOGITS, { topK: 2 }, 5000);
    assert.equal((topK[2] ?? 0) + (topK[3] ?? 0), 0);
    assertClose((topK[1] ?? 0) / 5000, 0.3 / 0.8, 0.03, 'top-k renormalized');
    const minP = histogram(LOGITS, { minP: 0.25 }, 5000);
    assert.equal(minP[3], 0, '0.05 < 0.25 * 0.5');
    assert.ok((minP[2] ?? 0) > 0, '0.15 >= 0.125 stays');
  });

  it('computes an exact nucleus on a large vocabulary where most mass is in the tail', () => {
    const vocab = 100_000;
    const logits = new Float32Array(vocab).fill(-6);
    logits[77_777] = 0;
    // Reference: sort everything, keep the best-first prefix whose mass reaches top_p.
    const w = Math.exp(Math.fround(-6));
    const total = 1 + (vocab - 1) * w;
    const tailNeeded = Math.ceil((0.5 * total - 1) / w); // tail tokens kept, lowest ids first
    const lastKept = tailNeeded < 77_777 ? tailNeeded - 1 : tailNeeded;
    const params = normalizeSamplingParams({ topP: 0.5 });
    const rng = createRng(5);
    let maxSeen = 0;
    for (let i = 0; i < 400; i++) {
      const id = sampleRow(logits, ctx(params, rng)).id;
      assert.ok(id === 77_777 || id <= lastKept + 1, `sampled ${id} outside the nucleus (last kept ${lastKept})`);
      if (id !== 77_777) maxSeen = Math.max(maxSeen, id);
    }
    assert.ok(maxSeen > lastKept - 2000, 'the whole nucleus is reachable');
  });
});

describe('logprobs', () => {
  it('reports raw log-softmax of the chosen token, its rank and the top alternatives', () => {
    const row = Float32Array.of(1, 3, 2, 3);
    const params = normalizeSamplingParams({ temperature: 0, logitBias: { '0': 10 }, logprobs: true, topLogprobs: 3 });
    const result = sampleRow(row, ctx(params));
    const lse = Math.log(Math.exp(1) + 2 * Math.exp(3) + Math.exp(2));
    assert.equal(result.id, 0, 'bias decides the sample');
    assertClose(result.logprob ?? NaN, 1 - lse, 1e-6, 'raw logprob ignores the bias');
    assert.equal(result.rank, 4);
    assert.deepEqual(result.topLogprobs?.map((t) => t.id), [1, 3, 2]);
    result.topLogprobs?.forEach((t) => assertClose(t.logprob, (row[t.id] ?? 0) - lse, 1e-6, `top ${t.id}`));
    assert.equal(sampleRow(row, ctx(normalizeSamplingParams({ temperature: 0 }))).logprob, undefined);
  });
});

describe('sampleBatch', () => {
  it('samples each row with its own params', () => {
    const logits = Float32Array.of(0, 9, 1, /* row 2 */ 7, 0, 1);
    const greedy = normalizeSamplingParams({ temperature: 0 });
    const biased = normalizeSamplingParams({ temperature: 0, logitBias: { '2': 20 } });
    assert.deepEqual(sampleBatch(logits, 3, [ctx(greedy), ctx(biased)]).map((t) => t.id), [1, 2]);
    assert.throws(() => sampleBatch(logits, 4, [ctx(greedy), ctx(greedy)]), RangeError);
  });
});
