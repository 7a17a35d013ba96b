// Paged KV bookkeeping: which physical blocks each sequence holds, reference counts, and the
// prefix cache (full blocks found again by their chained content hash). Never touches tensors.
//
// Free blocks live in two lists. Blocks that hold no cached content are handed out first; blocks
// whose content is still findable by hash wait in an LRU list and are evicted (hash forgotten) only
// when the empty list runs dry, oldest release first. A sequence releases its blocks last-first, so
// the tail of a prompt is evicted before its more widely shared head.
import { hashBlock } from './block-hash.js';
import type { Sequence } from './sequence.js';

/** Cached leading blocks of a sequence's known tokens. */
export interface CacheHit {
  readonly blockIds: readonly number[];
  /** = blockIds.length * blockSize */
  readonly numTokens: number;
}

export const NO_HIT: CacheHit = Object.freeze({ blockIds: Object.freeze([]), numTokens: 0 });

export class BlockManager {
  private readonly refCount: Int32Array;
  private readonly blockHash: Array<string | null>;
  /** token ids of a hashed block, checked on every hit */
  private readonly blockTokens: Array<Int32Array | null>;
  private readonly hashToBlock = new Map<string, number>();
  /** unreferenced blocks without cached content */
  private readonly empty: number[];
  /** unreferenced blocks with cached content; Set iteration order = release order (LRU first) */
  private readonly cachedFree = new Set<number>();

  constructor(
    readonly numBlocks: number,
    readonly blockSize: number,
    readonly enablePrefixCaching = true,
  ) {
    if (!Number.isInteger(numBlocks) || numBlocks < 1) throw new RangeError(`numBlocks must be a positive integer, got ${numBlocks}`);
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new RangeError(`blockSize must be a positive integer, got ${blockSize}`);
    this.refCount = new Int32Array(numBlocks);
    this.blockHash = new Array<string | null>(numBlocks).fill(null);
    this.blockTokens = new Array<Int32Array | null>(numBlocks).fill(null);
    // Reversed so pop() hands out block 0 first: easier to read in tests and traces.
    this.empty = Array.from({ length: numBlocks }, (_, i) => numBlocks - 1 - i);
  }

  /** Blocks not referenced by any sequence (cached content included: it is evictable). */
  get numFreeBlocks(): number {
    return this.empty.length + this.cachedFree.size;
  }

  /** Unreferenced blocks whose content can still be hit. */
  get numCachedFreeBlocks(): number {
    return this.cachedFree.size;
  }

  /** Fraction of blocks held by sequences (vLLM's kv_cache_usage_perc / 100). */
  usage(): number {
    return (this.numBlocks - this.numFreeBlocks) / this.numBlocks;
  }

  blocksFor(numTokens: number): number {
    return Math.ceil(numTokens / this.blockSize);
  }

  refCountOf(blockId: number): number {
    return this.refCount[blockId] ?? 0;
  }

  /**
   * The longest run of cached leading full blocks of the sequence's known tokens. At most
   * numTokens - 1 tokens are matched: the last token must be computed to get logits, and a
   * shared block is never written again.
   */
  findCachedPrefix(seq: Sequence): CacheHit {
    if (!this.enablePrefixCaching || seq.blockTable.length > 0) return NO_HIT;
    const maxBlocks = Math.floor((seq.numTokens - 1) / this.blockSize);
    const blockIds: number[] = [];
    for (let i = 0; i < maxBlocks; i++) {
      const block = this.hashToBlock.get(this.hashOf(seq, i));
      if (block === undefined || !this.sameTokens(block, seq, i)) break;
      blockIds.push(block);
    }
    return blockIds.length === 0 ? NO_HIT : { blockIds, numTokens: blockIds.length * this.blockSize };
  }

  /** Whether `allocate(seq, numNewTokens, hit)` would succeed. */
  canAllocate(seq: Sequence, numNewTokens: number, hit: CacheHit = NO_HIT): boolean {
    const { needed, reused } = this.demand(seq, numNewTokens, hit);
    return needed <= this.numFreeBlocks - reused;
  }

  /**
   * Makes the block table cover numComputedTokens + numNewTokens positions. A hit (only for a
   * sequence holding no blocks) is adopted first and advances numComputedTokens. Returns false and
   * changes nothing when blocks run out.
   */
  allocate(seq: Sequence, numNewTokens: number, hit: CacheHit = NO_HIT): boolean {
    if (!this.canAllocate(seq, numNewTokens, hit)) return false;
    if (hit.blockIds.length > 0) {
      for (const b of hit.blockIds) {
        if (this.refCount[b] === 0) this.cachedFree.delete(b);
        this.refCount[b]!++;
      }
      seq.blockTable = [...hit.blockIds];
      seq.numComputedTokens = hit.numTokens;
      seq.numRegisteredBlocks = hit.blockIds.length;
    }
    const target = this.blocksFor(seq.numComputedTokens + numNewTokens);
    while (seq.blockTable.length < target) seq.blockTable.push(this.takeFreeBlock());
    return true;
  }

  /** Offers the sequence's blocks that are now full of computed tokens to the prefix cache. */
  cacheFullBlocks(seq: Sequence): void {
    if (!this.enablePrefixCaching) return;
    const full = Math.min(Math.floor(seq.numComputedTokens / this.blockSize), seq.blockTable.length);
    for (let i = seq.numRegisteredBlocks; i < full; i++) {
      const block = seq.blockTable[i]!;
      const hash = this.hashOf(seq, i);
      // Two sequences may compute the same content at once; the first registered copy stays
      // findable and the duplicate is simply freed without a hash later.
      if (this.blockHash[block] === null && !this.hashToBlock.has(hash)) {
        this.blockHash[block] = hash;
        this.blockTokens[block] = Int32Array.from(seq.tokenIds.slice(i * this.blockSize, (i + 1) * this.blockSize));
        this.hashToBlock.set(hash, block);
      }
    }
    seq.numRegisteredBlocks = Math.max(seq.numRegisteredBlocks, full);
  }

  /** Drops the sequence's references, last block first; its KV counts as gone (numComputedTokens = 0). */
  free(seq: Sequence): void {
    for (let i = seq.blockTable.length - 1; i >= 0; i--) {
      const b = seq.blockTable[i]!;
      const rc = --this.refCount[b]!;
      if (rc < 0) throw new Error(`block ${b} freed more often than allocated`);
      if (rc === 0) {
        if (this.blockHash[b] !== null) this.cachedFree.add(b);
        else this.empty.push(b);
      }
    }
    seq.blockTable = [];
    seq.numComputedTokens = 0;
    seq.numRegisteredBlocks = 0;
  }

  /** Forgets every cached block that no sequence holds (e.g. after reloading weights). */
  resetPrefixCache(): void {
    for (const b of this.cachedFree) {
      this.forget(b);
      this.empty.push(b);
    }
    this.cachedFree.clear();
  }

  // -------------------------------------------------------------------------------------------

  /** New blocks needed and how many hit blocks are currently free (adopting them uses free capacity). */
  private demand(seq: Sequence, numNewTokens: number, hit: CacheHit): { needed: number; reused: number } {
    if (hit.blockIds.length > 0 && seq.blockTable.length > 0) throw new Error(`sequence ${seq.id} already holds blocks; a cache hit applies only at admission`);
    const held = hit.blockIds.length > 0 ? hit.blockIds.length : seq.blockTable.length;
    const computed = hit.blockIds.length > 0 ? hit.numTokens : seq.numComputedTokens;
    const needed = Math.max(0, this.blocksFor(computed + numNewTokens) - held);
    let reused = 0;
    for (const b of hit.blockIds) if (this.refCount[b] === 0) reused++;
    return { needed, reused };
  }

  private takeFreeBlock(): number {
    let b = this.empty.pop();
    if (b === undefined) {
      const lru = this.cachedFree.values().next();
      if (lru.done) throw new Error('no free KV block (allocate checked capacity first; this is a bug)');
      b = lru.value;
      this.cachedFree.delete(b);
      this.forget(b);
    }
    this.refCount[b] = 1;
    return b;
  }

  private forget(b: number): void {
    const hash = this.blockHash[b];
    if (hash !== null && hash !== undefined && this.hashToBlock.get(hash) === b) this.hashToBlock.delete(hash);
    this.blockHash[b] = null;
    this.blockTokens[b] = null;
  }

  /** Chain hash of the sequence's i-th full block, computed once per sequence. */
  private hashOf(seq: Sequence, i: number): string {
    const bs = this.blockSize;
    while (seq.blockHashes.length <= i) {
      const j = seq.blockHashes.length;
      const parent = j === 0 ? null : seq.blockHashes[j - 1]!;
      seq.blockHashes.push(hashBlock(parent, seq.tokenIds.slice(j * bs, (j + 1) * bs), seq.cacheSalt));
    }
    return seq.blockHashes[i]!;
  }

  private sameTokens(block: number, seq: Sequence, i: number): boolean {
    const stored = this.blockTokens[block];
    if (!stored) return false;
    const base = i * this.blockSize;
    for (let k = 0; k < stored.length; k++) if (stored[k] !== seq.tokenIds[base + k]) return false;
    return true;
  }
}
