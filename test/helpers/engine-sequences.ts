// Sequences for the engine's bookkeeping tests (no model involved).
import { normalizeSamplingParams } from '../../src/engine/sampler.js';
import { Sequence } from '../../src/engine/sequence.js';
import type { SequenceInit } from '../../src/engine/sequence.js';

const GREEDY = normalizeSamplingParams({ temperature: 0 });

/** `n` distinct-ish token ids starting from `from` (ids stay < 1000). */
export function tokenRun(n: number, from = 1): number[] {
  return Array.from({ length: n }, (_, i) => (from + i * 7) % 1000);
}

export function makeSequence(id: string, promptIds: readonly number[], extra: Partial<SequenceInit> = {}): Sequence {
  return new Sequence({ id, promptIds, sampling: GREEDY, maxTokens: 16, ...extra });
}

/** Pretend the step computed `n` more tokens of `seq` (what Scheduler.completeStep records). */
export function markComputed(seq: Sequence, n: number): void {
  seq.numComputedTokens += n;
}
