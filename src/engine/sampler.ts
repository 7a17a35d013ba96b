// Token sampling on host logits, one row per sequence. Pure apart from the caller-owned RNG.
//
// Order (vLLM's): logit_bias / blocked ids -> repetition, frequency, presence penalties ->
// greedy if temperature is ~0 -> temperature -> min_p -> top_k -> top_p -> draw.
// Logprobs are vLLM's default "raw_logprobs": log-softmax of the model's logits before any of the
// transforms above, so they describe the model, not the sampling settings.
import { randomBytes } from 'node:crypto';

export interface SamplingParamsInput {
  readonly temperature?: number;
  readonly topP?: number;
  /** 0 or -1 disable. */
  readonly topK?: number;
  readonly minP?: number;
  readonly repetitionPenalty?: number;
  readonly frequencyPenalty?: number;
  readonly presencePenalty?: number;
  /** OpenAI `logit_bias`: token id (string or number key) -> bias in [-100, 100]. */
  readonly logitBias?: Readonly<Record<string, number>> | ReadonlyMap<number, number>;
  readonly seed?: number | null;
  readonly logprobs?: boolean;
  /** Alternatives returned per token, 0..20 (OpenAI `top_logprobs`). */
  readonly topLogprobs?: number;
}

/** Normalized, validated, frozen. */
export interface SamplingParams {
  readonly temperature: number;
  readonly topP: number;
  /** 0 = disabled. */
  readonly topK: number;
  readonly minP: number;
  readonly repetitionPenalty: number;
  readonly frequencyPenalty: number;
  readonly presencePenalty: number;
  readonly logitBias: ReadonlyMap<number, number>;
  readonly seed: number | undefined;
  readonly logprobs: boolean;
  readonly topLogprobs: number;
}

/** A bad sampling parameter; `field` is the OpenAI / vLLM request field name. */
export class SamplingParamsError extends Error {
  readonly field: string;
  constructor(field: string, detail: string) {
    super(`${field} ${detail}`);
    this.name = 'SamplingParamsError';
    this.field = field;
  }
}

// Below this, temperature means greedy (vLLM's _SAMPLING_EPS).
const GREEDY_EPS = 1e-5;
export const MAX_TOP_LOGPROBS = 20;

function check(ok: boolean, field: string, detail: string): void {
  if (!ok) throw new SamplingParamsError(field, detail);
}

/**
 * Validates request params, filling gaps from `defaults` (the model's generation_config.json, as
 * vLLM does) and then from neutral values. `vocabSize` enables the logit_bias id range check.
 */
export function normalizeSamplingParams(
  input: SamplingParamsInput,
  defaults: SamplingParamsInput = {},
  vocabSize?: number,
): SamplingParams {
  const pick = <K extends keyof SamplingParamsInput>(key: K): SamplingParamsInput[K] => input[key] ?? defaults[key];
  const num = (value: number | undefined, fallback: number, field: string): number => {
    const v = value ?? fallback;
    check(typeof v === 'number' && Number.isFinite(v), field, 'must be a finite number');
    return v;
  };
  const temperature = num(pick('temperature'), 1, 'temperature');
  check(temperature >= 0, 'temperature', 'must be >= 0');
  const topP = num(pick('topP'), 1, 'top_p');
  check(topP > 0 && topP <= 1, 'top_p', 'must be in (0, 1]');
  let topK = num(pick('topK'), 0, 'top_k');
  check(Number.isInteger(topK) && topK >= -1, 'top_k', 'must be -1, 0 (disabled) or a positive integer');
  if (topK < 0) topK = 0;
  const minP = num(pick('minP'), 0, 'min_p');
  check(minP >= 0 && minP <= 1, 'min_p', 'must be in [0, 1]');
  const repetitionPenalty = num(pick('repetitionPenalty'), 1, 'repetition_penalty');
  check(repetitionPenalty > 0, 'repetition_penalty', 'must be > 0');
  const frequencyPenalty = num(pick('frequencyPenalty'), 0, 'frequency_penalty');
  check(frequencyPenalty >= -2 && frequencyPenalty <= 2, 'frequency_penalty', 'must be in [-2, 2]');
  const presencePenalty = num(pick('presencePenalty'), 0, 'presence_penalty');
  check(presencePenalty >= -2 && presencePenalty <= 2, 'presence_penalty', 'must be in [-2, 2]');

  const seed = input.seed ?? undefined;
  check(seed === undefined || Number.isSafeInteger(seed), 'seed', 'must be an integer');
  const logprobs = input.logprobs ?? false;
  check(typeof logprobs === 'boolean', 'logprobs', 'must be a boolean');
  const topLogprobs = input.topLogprobs ?? 0;
  check(Number.isInteger(topLogprobs) && topLogprobs >= 0 && topLogprobs <= MAX_TOP_LOGPROBS, 'top_logprobs', `must be an integer in [0, ${MAX_TOP_LOGPROBS}]`);
  check(topLogprobs === 0 || logprobs, 'top_logprobs', 'requires logprobs to be true');

  return Object.freeze({
    temperature, topP, topK, minP, repetitionPenalty, frequencyPenalty, presencePenalty,
    logitBias: normalizeLogitBias(input.logitBias, vocabSize),
    seed, logprobs, topLogprobs,
  });
}

function normalizeLogitBias(raw: SamplingParamsInput['logitBias'], vocabSize: number | undefined): ReadonlyMap<number, number> {
  const out = new Map<number, number>();
  if (raw === undefined) return out;
  const entries: Iterable<[string | number, number]> = raw instanceof Map ? raw.entries() : Object.entries(raw);
  for (const [key, bias] of entries) {
    const id = typeof key === 'number' ? key : /^\d+$/.test(key) ? Number(key) : NaN;
    check(Number.isSafeInteger(id) && id >= 0 && (vocabSize === undefined || id < vocabSize), `logit_bias[${String(key)}]`, 'is not a token id in the vocabulary');
    check(typeof bias === 'number' && Number.isFinite(bias) && bias >= -100 && bias <= 100, `logit_bias[${String(key)}]`, 'must be a number in [-100, 100]');
    out.set(id, bias);
  }
  return out;
}

export function isGreedy(params: SamplingParams): boolean {
  return params.temperature < GREEDY_EPS;
}

// ---------------------------------------------------------------------------------------------
// Seeded RNG: xoshiro128** (Blackman & Vigna) seeded through splitmix32, so nearby seeds diverge.

export interface Rng {
  /** Uniform in [0, 1) with 53 random bits. */
  nextFloat(): number;
}

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** xoshiro128** from an explicit 128-bit state (exported for the reference-vector test). */
export class Xoshiro128 implements Rng {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(words: readonly [number, number, number, number]) {
    [this.#a, this.#b, this.#c, this.#d] = words;
    if ((this.#a | this.#b | this.#c | this.#d) === 0) this.#a = 1; // the all-zero state is a fixed point
  }

  nextUint32(): number {
    const result = Math.imul(rotl(Math.imul(this.#b, 5), 7), 9) >>> 0;
    const t = this.#b << 9;
    this.#c ^= this.#a;
    this.#d ^= this.#b;
    this.#b ^= this.#c;
    this.#a ^= this.#d;
    this.#c ^= t;
    this.#d = rotl(this.#d, 11);
    return result;
  }

  nextFloat(): number {
    const hi = this.nextUint32() >>> 5; // 27 bits
    const lo = this.nextUint32() >>> 6; // 26 bits
    return (hi * 67108864 + lo) / 9007199254740992;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Seeded when `seed` is given (any safe integer, negative included); otherwise from the OS. */
export function createRng(seed?: number): Rng {
  if (seed === undefined) {
    const b = randomBytes(16);
    return new Xoshiro128([b.readUInt32LE(0), b.readUInt32LE(4), b.readUInt32LE(8), b.readUInt32LE(12)]);
  }
  const lo = splitmix32(seed >>> 0);
  const hi = splitmix32(Math.floor(seed / 4294967296) >>> 0 ^ 0x5bd1e995);
  return new Xoshiro128([lo(), hi(), lo(), hi()]);
}

// ---------------------------------------------------------------------------------------------

export interface TokenLogprob {
  readonly id: number;
  readonly logprob: number;
}

export interface SampledToken {
  readonly id: number;
  /** Raw logprob of `id` (when params.logprobs). */
  readonly logprob?: number;
  /** 1-based rank of `id` among the raw logits. */
  readonly rank?: number;
  /** The `topLogprobs` most likely tokens by raw logit, best first, ties by lower id. */
  readonly topLogprobs?: readonly TokenLogprob[];
}

export interface SampleContext {
  readonly params: SamplingParams;
  readonly rng: Rng;
  /** Repetition penalty covers prompt and output; frequency/presence only the output (vLLM). */
  readonly promptIds: readonly number[];
  readonly outputIds: readonly number[];
  /** Ids that must not be sampled now (e.g. EOS before min_tokens). */
  readonly blockedIds?: readonly number[];
  /** Structured output: bit (id & 31) of word (id >> 5) set = id may be sampled (TokenConstraint). */
  readonly allowedMask?: Int32Array | undefined;
}

/** Samples one token from each row of `logits` [rows.length, vocabSize]. */
export function sampleBatch(logits: Float32Array, vocabSize: number, rows: readonly SampleContext[]): SampledToken[] {
  if (logits.length < rows.length * vocabSize) {
    throw new RangeError(`logits hold ${logits.length} values, fewer than ${rows.length} rows x ${vocabSize}`);
  }
  return rows.map((ctx, r) => sampleRow(logits.subarray(r * vocabSize, (r + 1) * vocabSize), ctx));
}

/** Samples one token from one row of raw logits [vocab]. Does not modify `row`. */
export function sampleRow(row: Float32Array, ctx: SampleContext): SampledToken {
  const params = ctx.params;
  const x = applyPenalties(row, ctx);
  const id = isGreedy(params) ? argmaxFinite(x) : drawFromProcessed(x, params, ctx.rng);
  if (!params.logprobs) return { id };
  return { id, ...rawLogprobs(row, id, params.topLogprobs) };
}

/** Bias, blocked ids and penalties applied to a copy of the row; NaN becomes -Infinity. */
export function applyPenalties(row: Float32Array, ctx: SampleContext): Float32Array {
  const p = ctx.params;
  const x = new Float32Array(row);
  for (let i = 0; i < x.length; i++) if (Number.isNaN(x[i])) x[i] = -Infinity;
  for (const [id, bias] of p.logitBias) if (id < x.length) x[id] = x[id]! + bias;
  for (const id of ctx.blockedIds ?? []) if (id >= 0 && id < x.length) x[id] = -Infinity;
  if (ctx.allowedMask !== undefined) applyMask(x, ctx.allowedMask);

  if (p.repetitionPenalty !== 1) {
    const seen = new Set<number>(ctx.promptIds);
    for (const id of ctx.outputIds) seen.add(id);
    for (const id of seen) {
      if (id < 0 || id >= x.length) continue;
      const v = x[id]!;
      x[id] = v > 0 ? v / p.repetitionPenalty : v * p.repetitionPenalty;
    }
  }
  if (p.frequencyPenalty !== 0 || p.presencePenalty !== 0) {
    const counts = new Map<number, number>();
    for (const id of ctx.outputIds) counts.set(id, (counts.get(id) ?? 0) + 1);
    for (const [id, n] of counts) {
      if (id < 0 || id >= x.length) continue;
      x[id] = x[id]! - p.frequencyPenalty * n - p.presencePenalty;
    }
  }
  return x;
}

/** -Infinity for every id the mask does not allow; whole words of allowed ids are skipped. */
function applyMask(x: Float32Array, mask: Int32Array): void {
  for (let w = 0; w * 32 < x.length; w++) {
    const bits = w < mask.length ? mask[w]! : 0;
    if (bits === -1) continue;
    const end = Math.min(x.length, w * 32 + 32);
    for (let id = w * 32; id < end; id++) if ((bits & (1 << (id & 31))) === 0) x[id] = -Infinity;
  }
}

function argmaxFinite(x: Float32Array): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    if (v > bestValue) {
      bestValue = v;
      best = i;
    }
  }
  if (best < 0) throw new RangeError('every token is masked (-Infinity); nothing can be sampled');
  return best;
}

// Best first, ties by lower id: the deterministic order of top-k and top-p.
function byLogitDesc(x: Float32Array): (a: number, b: number) => number {
  return (a, b) => x[b]! - x[a]! || a - b;
}

// The k best ids (undefined `ids` = all of `x`). For the usual small k a bounded insertion beats
// sorting the vocabulary, since almost every token fails the first comparison.
function topKIds(ids: readonly number[] | undefined, x: Float32Array, k: number): number[] {
  if (k > 256) return (ids === undefined ? Array.from(x.keys()) : [...ids]).sort(byLogitDesc(x)).slice(0, k);
  const top: number[] = [];
  const n = ids === undefined ? x.length : ids.length;
  for (let j = 0; j < n; j++) {
    const id = ids === undefined ? j : ids[j]!;
    const v = x[id]!;
    if (top.length === k && v <= x[top[k - 1]!]!) continue;
    let at = top.length;
    while (at > 0 && x[top[at - 1]!]! < v) at--;
    top.splice(at, 0, id);
    if (top.length > k) top.pop();
  }
  return top;
}

/** Temperature, min_p, top_k, top_p, then one inverse-CDF draw over the kept tokens. */
function drawFromProcessed(x: Float32Array, p: SamplingParams, rng: Rng): number {
  const invT = 1 / p.temperature;
  const max = x[argmaxFinite(x)]! * invT;
  // Log of the unnormalized probability (0 for the best token) and the weight itself. Tokens more
  // than e^-60 below the best are given weight 0: skipping their exp changes no probability by
  // more than vocab * 1e-26.
  const lw = new Float64Array(x.length);
  const w = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]! * invT - max;
    lw[i] = v;
    w[i] = v > -60 ? Math.exp(v) : 0;
  }

  let kept: number[] | undefined; // undefined = every token, in id order
  if (p.minP > 0) {
    // min_p keeps tokens with prob >= min_p * max prob; the max weight is 1.
    kept = [];
    for (let i = 0; i < w.length; i++) if (w[i]! >= p.minP && w[i]! > 0) kept.push(i);
  }
  if (p.topK > 0 && (kept?.length ?? w.length) > p.topK) kept = topKIds(kept, x, p.topK);
  if (p.topP < 1) kept = nucleus(kept, x, lw, w, p.topP);

  let total = 0;
  const n = kept === undefined ? w.length : kept.length;
  for (let j = 0; j < n; j++) total += w[kept === undefined ? j : kept[j]!]!;
  const target = rng.nextFloat() * total;
  let acc = 0;
  let last = -1;
  for (let j = 0; j < n; j++) {
    const id = kept === undefined ? j : kept[j]!;
    if (w[id] === 0) continue;
    acc += w[id]!;
    last = id;
    if (acc > target) return id;
  }
  return last; // rounding left the target at the very top of the sum
}

const BIN_WIDTH = 0.25;
const BINS = 160; // log-weights down to -40; anything lower shares the last bin

/**
 * The top-p nucleus: the smallest best-first prefix whose mass reaches `topP` of the total (the
 * token that crosses the line is kept, as in vLLM). Instead of sorting the vocabulary, tokens are
 * binned by log-weight; bins above the crossing bin are kept whole and only the crossing bin is
 * sorted. Kept tokens come out in id order, except the crossing bin's, which follow best-first.
 */
function nucleus(ids: readonly number[] | undefined, x: Float32Array, lw: Float64Array, w: Float64Array, topP: number): number[] {
  const n = ids === undefined ? w.length : ids.length;
  const binOf = (id: number): number => Math.min(BINS - 1, Math.floor(-lw[id]! / BIN_WIDTH));
  const mass = new Float64Array(BINS);
  let total = 0;
  for (let j = 0; j < n; j++) {
    const id = ids === undefined ? j : ids[j]!;
    if (w[id] === 0) continue;
    mass[binOf(id)]! += w[id]!;
    total += w[id]!;
  }
  const target = topP * total;
  let crossing = 0;
  let above = 0;
  while (crossing < BINS - 1 && above + mass[crossing]! < target) above += mass[crossing++]!;
  const kept: number[] = [];
  const edge: number[] = [];
  for (let j = 0; j < n; j++) {
    const id = ids === undefined ? j : ids[j]!;
    if (w[id] === 0) continue;
    const b = binOf(id);
    if (b < crossing) kept.push(id);
    else if (b === crossing) edge.push(id);
  }
  let acc = above;
  for (const id of edge.sort(byLogitDesc(x))) {
    kept.push(id);
    acc += w[id]!;
    if (acc >= target) break;
  }
  return kept;
}

/** Raw log-softmax facts about `id` and the top alternatives. */
function rawLogprobs(row: Float32Array, id: number, topN: number): { logprob: number; rank: number; topLogprobs: TokenLogprob[] } {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > max) max = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  const chosen = row[id]!;
  let above = 0;
  for (let i = 0; i < row.length; i++) if (row[i]! > chosen) above++;

  const top = topN > 0 ? topKIds(undefined, row, topN) : [];
  return {
    logprob: chosen - lse,
    rank: above + 1,
    topLogprobs: top.map((t) => ({ id: t, logprob: row[t]! - lse })),
  };
}
