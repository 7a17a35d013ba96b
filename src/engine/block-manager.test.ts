import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { BlockManager } from './block-manager.js';
import { hashBlock } from './block-hash.js';
import { makeSequence, tokenRun } from '../../test/helpers/engine-sequences.js';
import type { Sequence } from './sequence.js';

/** Allocates and "computes" the whole known token list of a sequence, registering full blocks. */
function prefill(bm: BlockManager, seq: Sequence): void {
  const hit = bm.findCachedPrefix(seq);
  const start = hit.blockIds.length > 0 ? hit.numTokens : seq.numComputedTokens;
  assert.ok(bm.allocate(seq, seq.numTokens - start, hit), `allocate ${seq.id}`);
  seq.numComputedTokens = seq.numTokens;
  bm.cacheFullBlocks(seq);
}

describe('block hash', () => {
  it('chains parents, mixes the salt into the first block and is stable', () => {
    const a = hashBlock(null, [1, 2, 3, 4]);
    assert.equal(a, hashBlock(null, [1, 2, 3, 4]));
    assert.notEqual(a, hashBlock(null, [1, 2, 3, 5]));
    assert.notEqual(a, hashBlock(null, [1, 2, 3, 4], 'tenant-b'));
    assert.notEqual(hashBlock(a, [5, 6, 7, 8]), hashBlock(hashBlock(null, [0, 2, 3, 4]), [5, 6, 7, 8]));
  });
});

describe('BlockManager', () => {
  it('allocates incrementally and frees everything (no leaks)', () => {
    const bm = new BlockManager(8, 4);
    const s = makeSequence('a', tokenRun(5));
    assert.ok(bm.allocate(s, 5));
    assert.equal(s.blockTable.length, 2);
    s.numComputedTokens = 5;
    s.appendToken(9);
    s.appendToken(10);
    s.appendToken(11);
    assert.ok(bm.allocate(s, 3)); // positions 5..7 fit the second block
    assert.equal(s.blockTable.length, 2);
    s.numComputedTokens = 8;
    s.appendToken(12);
    assert.ok(bm.allocate(s, 1));
    assert.equal(s.blockTable.length, 3);
    assert.equal(bm.numFreeBlocks, 5);
    assert.equal(bm.usage(), 3 / 8);
    bm.free(s);
    assert.equal(bm.numFreeBlocks, 8);
    assert.equal(bm.usage(), 0);
    assert.deepEqual(s.blockTable, []);
    assert.equal(s.numComputedTokens, 0);
  });

  it('refuses, changing nothing, when blocks run out', () => {
    const bm = new BlockManager(3, 4);
    const a = makeSequence('a', tokenRun(8));
    assert.ok(bm.allocate(a, 8));
    const b = makeSequence('b', tokenRun(6, 100));
    assert.equal(bm.canAllocate(b, 6), false);
    assert.equal(bm.allocate(b, 6), false);
    assert.deepEqual(b.blockTable, []);
    assert.equal(bm.numFreeBlocks, 1);
    assert.ok(bm.allocate(b, 4));
  });

  it('shares full prompt blocks by hash and reference-counts them', () => {
    const bm = new BlockManager(8, 4);
    const shared = tokenRun(8);
    const a = makeSequence('a', [...shared, 50, 51]);
    prefill(bm, a);
    const b = makeSequence('b', [...shared, 60, 61, 62]);
    const hit = bm.findCachedPrefix(b);
    assert.deepEqual(hit.blockIds, a.blockTable.slice(0, 2));
    assert.equal(hit.numTokens, 8);
    prefill(bm, b);
    assert.deepEqual(b.blockTable.slice(0, 2), a.blockTable.slice(0, 2));
    assert.notEqual(b.blockTable[2], a.blockTable[2]);
    for (const blk of a.blockTable.slice(0, 2)) assert.equal(bm.refCountOf(blk), 2);
    assert.equal(bm.numFreeBlocks, 8 - 4);

    const aShared = a.blockTable.slice(0, 2);
    bm.free(a);
    for (const blk of aShared) assert.equal(bm.refCountOf(blk), 1);
    assert.equal(bm.numFreeBlocks, 8 - 3);
    bm.free(b);
    assert.equal(bm.numFreeBlocks, 8);
    assert.equal(bm.numCachedFreeBlocks, 2);
    assert.equal(bm.usage(), 0);

    // A third request finds the freed-but-cached blocks and takes them out of the free list.
    const c = makeSequence('c', [...shared, 70]);
    const hitC = bm.findCachedPrefix(c);
    assert.deepEqual(hitC.blockIds, aShared);
    assert.ok(bm.canAllocate(c, 1, hitC));
    prefill(bm, c);
    assert.equal(bm.numCachedFreeBlocks, 0);
    assert.equal(c.numComputedTokens, 9);
    bm.free(c);
    assert.equal(bm.numFreeBlocks, 8);
  });

  it('always leaves the last token to compute, even for a fully cached prompt', () => {
    const bm = new BlockManager(8, 4);
    const a = makeSequence('a', tokenRun(8));
    prefill(bm, a);
    const b = makeSequence('b', tokenRun(8));
    const hit = bm.findCachedPrefix(b);
    assert.equal(hit.numTokens, 4); // block 2 would hold the last token: computed again, not shared
    assert.ok(bm.allocate(b, 4, hit));
    assert.notEqual(b.blockTable[1], a.blockTable[1]);
  });

  it('does not share across cache salts or when prefix caching is off', () => {
    const bm = new BlockManager(8, 4);
    prefill(bm, makeSequence('a', tokenRun(9), { cacheSalt: 'x' }));
    assert.equal(bm.findCachedPrefix(makeSequence('b', tokenRun(9), { cacheSalt: 'y' })).numTokens, 0);
    assert.equal(bm.findCachedPrefix(makeSequence('c', tokenRun(9), { cacheSalt: 'x' })).numTokens, 8);
    const off = new BlockManager(8, 4, false);
    const d = makeSequence('d', tokenRun(9));
    prefill(off, d);
    off.free(d);
    assert.equal(off.numCachedFreeBlocks, 0);
    assert.equal(off.findCachedPrefix(makeSequence('e', tokenRun(9))).numTokens, 0);
  });

  it('hands out empty blocks before evicting cached ones, then evicts least recently released first', () => {
    const bm = new BlockManager(5, 2);
    const a = makeSequence('a', [1, 2, 3, 4, 5]); // 2 full blocks + 1 partial
    prefill(bm, a);
    const b = makeSequence('b', [9, 8, 7]); // 1 full block + 1 partial
    prefill(bm, b);
    const [a0, a1, a2] = a.blockTable as [number, number, number];
    const [b0] = b.blockTable as [number];
    bm.free(a); // released a2 (no hash -> empty), a1, a0 in that order
    bm.free(b); // then b1 (empty), b0
    assert.equal(bm.numCachedFreeBlocks, 3);

    const c = makeSequence('c', tokenRun(4, 500)); // 2 blocks: exactly the 2 empty ones
    assert.ok(bm.allocate(c, 4));
    assert.ok(c.blockTable.includes(a2));
    assert.equal(bm.numCachedFreeBlocks, 3, 'no cached block evicted while empty ones remain');

    const d = makeSequence('d', tokenRun(4, 600));
    assert.ok(bm.allocate(d, 4));
    assert.deepEqual(d.blockTable, [a1, a0], 'LRU: a released its tail first, and before b');
    assert.equal(bm.findCachedPrefix(makeSequence('x', [1, 2, 3, 4, 5])).numTokens, 0, 'evicted blocks are no longer found');
    assert.equal(bm.findCachedPrefix(makeSequence('y', [9, 8, 7])).blockIds[0], b0, 'b0 survived');
  });

  it('keeps one cached copy when two sequences compute the same content at once', () => {
    const bm = new BlockManager(8, 2);
    const a = makeSequence('a', [1, 2, 3]);
    const b = makeSequence('b', [1, 2, 3]);
    assert.ok(bm.allocate(a, 3));
    assert.ok(bm.allocate(b, 3));
    a.numComputedTokens = 3;
    b.numComputedTokens = 3;
    bm.cacheFullBlocks(a);
    bm.cacheFullBlocks(b);
    bm.free(a);
    bm.free(b);
    assert.equal(bm.numCachedFreeBlocks, 1);
    assert.equal(bm.numFreeBlocks, 8);
  });

  it('keeps hashes across preemption so a recompute hits its own blocks', () => {
    const bm = new BlockManager(8, 4);
    const a = makeSequence('a', tokenRun(6));
    prefill(bm, a);
    for (const t of [11, 12, 13]) {
      a.appendToken(t);
      assert.ok(bm.allocate(a, 1));
      a.numComputedTokens++;
      bm.cacheFullBlocks(a);
    }
    assert.equal(a.numComputedTokens, 9);
    const before = a.blockTable.slice(0, 2);
    bm.free(a); // preempted
    const hit = bm.findCachedPrefix(a);
    assert.deepEqual(hit.blockIds, before);
    assert.ok(bm.allocate(a, a.numTokens - hit.numTokens, hit));
    assert.equal(a.numComputedTokens, 8);
  });

  it('rejects a cache hit for a sequence that already holds blocks', () => {
    const bm = new BlockManager(4, 2);
    const a = makeSequence('a', [1, 2, 3]);
    prefill(bm, a);
    assert.throws(() => bm.allocate(a, 1, { blockIds: [0], numTokens: 2 }), /already holds blocks/);
  });
});
