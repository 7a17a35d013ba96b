// A batch of sequences fed through a model the way the engine feeds them: prompts in chunks of
// varying size, several sequences per step (prefill slices first, then decode rows), blocks of the
// paged cache scattered, then teacher-forced decode steps. Every row's logits are returned, so two
// backends can be compared on exactly the same inputs.
import type { SeqSlice } from '../ops/step.js';
import type { CausalLM } from '../models/model.js';
import { picker } from './random.js';

export interface ScenarioSequence {
  readonly prompt: readonly number[];
  /** tokens fed one at a time after the prompt (teacher forcing) */
  readonly decode: readonly number[];
}

export interface Scenario {
  readonly sequences: readonly ScenarioSequence[];
  readonly blockSize: number;
  /** prompt chunk sizes, drawn in order as sequences need them (cycled) */
  readonly chunks: readonly number[];
  /** seed of the block table permutation */
  readonly seed: number;
}

export interface StepLogits {
  /** [rows, vocab] */
  readonly logits: Float32Array;
  readonly rows: number;
}

/** A seeded scenario: 1-3 sequences, prompt lengths around `pivots` (tile sizes, the indexer's top-k). */
export function randomScenario(seed: number, vocab: number, pivots: readonly number[], maxTokens: number): Scenario {
  const { pick, int } = picker(seed);
  const n = int(1, 3);
  const lengths = [1, 2, 3, 5, ...pivots.flatMap((p) => [p - 1, p, p + 1])].filter((l) => l >= 1 && l + 6 <= maxTokens);
  const sequences = Array.from({ length: n }, () => {
    const prompt = Array.from({ length: pick(lengths) }, () => int(0, vocab - 1));
    const decode = Array.from({ length: int(2, 5) }, () => int(0, vocab - 1));
    return { prompt, decode };
  });
  const chunks = Array.from({ length: 8 }, () => pick([1, 2, 3, 7, 16, 64]));
  return { sequences, blockSize: pick([4, 16, 64]), chunks, seed };
}

/** Feeds the scenario through `model` (optionally calling `afterStep` after each forward). */
export async function runScenario(model: CausalLM, s: Scenario, afterStep?: () => Promise<void>): Promise<StepLogits[]> {
  const { int } = picker(s.seed ^ 0x9e3779b9);
  const blocksPer = s.sequences.map((q) => Math.ceil((q.prompt.length + q.decode.length) / s.blockSize));
  const total = blocksPer.reduce((a, b) => a + b, 0);
  // scattered block tables: a seeded permutation of the cache's blocks
  const perm = Array.from({ length: total }, (_, i) => i);
  for (let i = total - 1; i > 0; i--) {
    const j = int(0, i);
    [perm[i], perm[j]] = [perm[j]!, perm[i]!];
  }
  let next = 0;
  const tables = blocksPer.map((b) => Int32Array.from(perm.slice(next, (next += b))));
  const cache = model.createKvCache(total, s.blockSize);
  const done = s.sequences.map(() => 0);
  let chunk = 0;
  const out: StepLogits[] = [];
  for (;;) {
    const prefill: Array<{ q: number; n: number }> = [];
    const decode: number[] = [];
    s.sequences.forEach((q, i) => {
      const fed = done[i]!;
      if (fed < q.prompt.length) prefill.push({ q: i, n: Math.min(q.prompt.length - fed, s.chunks[chunk++ % s.chunks.length]!) });
      else if (fed < q.prompt.length + q.decode.length) decode.push(i);
    });
    if (prefill.length === 0 && decode.length === 0) break;
    const tokens: number[] = [];
    const seqs: SeqSlice[] = [];
    const add = (i: number, n: number, mode: 'prefill' | 'decode') => {
      const q = s.sequences[i]!;
      const all = [...q.prompt, ...q.decode];
      seqs.push({ rowStart: tokens.length, rows: n, startPos: done[i]!, mode, blockTable: tables[i]! });
      tokens.push(...all.slice(done[i]!, done[i]! + n));
    };
    for (const p of prefill) add(p.q, p.n, 'prefill');
    for (const i of decode) add(i, 1, 'decode');
    const rows = tokens.length;
    const logits = await model.forward({ tokens: Int32Array.from(tokens), seqs, logitRows: Int32Array.from({ length: rows }, (_, r) => r) }, cache);
    if (afterStep) await afterStep();
    out.push({ logits, rows });
    for (const p of prefill) done[p.q]! += p.n;
    for (const i of decode) done[i]! += 1;
  }
  return out;
}
