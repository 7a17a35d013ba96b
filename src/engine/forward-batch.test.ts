import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildForwardBatch } from './forward-batch.js';
import { makeSequence } from '../../test/helpers/engine-sequences.js';

describe('buildForwardBatch', () => {
  it('lays out every prefill slice before every decode slice; only chunks reaching the end sample', () => {
    const a = makeSequence('a', [10, 11, 12]);
    a.appendToken(13); // a decodes position 3
    a.blockTable = [4];
    const b = makeSequence('b', [20, 21, 22, 23, 24, 25]); // b prefills [0, 4): no logits yet
    b.blockTable = [0, 1];
    const c = makeSequence('c', [30, 31, 32]); // c prefills [1, 3) after a cache hit on position 0
    c.blockTable = [2];

    const { input, logitSeqs } = buildForwardBatch([
      { seq: a, startPos: 3, numTokens: 1 },
      { seq: b, startPos: 0, numTokens: 4 },
      { seq: c, startPos: 1, numTokens: 2 },
    ]);
    assert.deepEqual([...input.tokens], [20, 21, 22, 23, 31, 32, 13]);
    assert.deepEqual(
      input.seqs.map((s) => [s.rowStart, s.rows, s.startPos, s.mode, [...s.blockTable]]),
      [
        [0, 4, 0, 'prefill', [0, 1]],
        [4, 2, 1, 'prefill', [2]],
        [6, 1, 3, 'decode', [4]],
      ],
    );
    // logits in chunk order: a (row 6) then c (row 5)
    assert.deepEqual([...input.logitRows], [6, 5]);
    assert.deepEqual(logitSeqs, [a, c]);
  });

  it('splits a recompute after preemption at the prompt boundary: generated tokens keep the decode path', () => {
    const a = makeSequence('a', [1, 2, 3]);
    for (const t of [4, 5, 6]) a.appendToken(t);
    a.blockTable = [3, 1];
    const b = makeSequence('b', [7, 8]);
    b.appendToken(9);
    b.blockTable = [0];
    const { input, logitSeqs } = buildForwardBatch([
      { seq: b, startPos: 2, numTokens: 1 },
      { seq: a, startPos: 0, numTokens: 6 },
    ]);
    assert.deepEqual([...input.tokens], [1, 2, 3, 9, 4, 5, 6]);
    assert.deepEqual(
      input.seqs.map((s) => [s.rowStart, s.rows, s.startPos, s.mode]),
      [
        [0, 3, 0, 'prefill'],
        [3, 1, 2, 'decode'],
        [4, 3, 3, 'decode'],
      ],
    );
    assert.equal(input.seqs[0]!.blockTable, input.seqs[2]!.blockTable, "one table for both of a's slices");
    assert.deepEqual([...input.logitRows], [3, 6]);
    assert.deepEqual(logitSeqs, [b, a]);
  });

  it('gives a chunk that starts inside the generated tokens only a multi-row decode slice', () => {
    const a = makeSequence('a', [1, 2]);
    for (const t of [3, 4, 5, 6]) a.appendToken(t);
    a.blockTable = [0, 1, 2];
    const { input } = buildForwardBatch([{ seq: a, startPos: 4, numTokens: 2 }]);
    assert.deepEqual(input.seqs.map((s) => [s.rowStart, s.rows, s.startPos, s.mode]), [[0, 2, 4, 'decode']]);
    assert.deepEqual([...input.tokens], [5, 6]);
    assert.deepEqual([...input.logitRows], [1]);
  });

  it('rejects a chunk beyond the known tokens', () => {
    const a = makeSequence('a', [1, 2]);
    assert.throws(() => buildForwardBatch([{ seq: a, startPos: 1, numTokens: 2 }]), /outside its 2 known tokens/);
    assert.throws(() => buildForwardBatch([{ seq: a, startPos: 0, numTokens: 0 }]), RangeError);
  });
});
