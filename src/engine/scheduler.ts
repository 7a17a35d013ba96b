// Continuous batching, vLLM V1 style: every step gets a token budget. Running sequences go first
// (decodes, one token each, then sequences still in a chunked prefill), then waiting sequences in
// FIFO order, their prompts chunked to whatever budget is left. When KV blocks run out, the
// newest-arrived running sequence is preempted by recompute: its blocks are freed (full ones stay
// in the prefix cache, so the recompute is often a cache hit) and it goes back to the front of the
// waiting queue. Pure bookkeeping: the model is never touched here.
import type { BlockManager } from './block-manager.js';
import { RequestTooLargeError } from './engine-errors.js';
import type { FinishReason, Sequence } from './sequence.js';

export interface SchedulerConfig {
  /** Most sequences in one step (running cap). */
  readonly maxNumSeqs: number;
  /** Most tokens (rows) in one step; at least maxNumSeqs so every running decode fits. */
  readonly maxNumBatchedTokens: number;
}

/** Rows [startPos, startPos + numTokens) of one sequence in a step. */
export interface ScheduledChunk {
  readonly seq: Sequence;
  readonly startPos: number;
  readonly numTokens: number;
}

export interface ScheduledStep {
  readonly chunks: readonly ScheduledChunk[];
  readonly numBatchedTokens: number;
  /** sequences preempted while building this step */
  readonly preempted: readonly Sequence[];
}

export interface SchedulerCounters {
  preemptions: number;
  /** prompt tokens looked up in the prefix cache at admission, and how many were found */
  prefixCacheQueries: number;
  prefixCacheHits: number;
}

export class Scheduler {
  readonly waiting: Sequence[] = [];
  /** ordered by arrival (Sequence.order), oldest first */
  readonly running: Sequence[] = [];
  readonly counters: SchedulerCounters = { preemptions: 0, prefixCacheQueries: 0, prefixCacheHits: 0 };
  private nextOrder = 0;

  constructor(
    readonly config: SchedulerConfig,
    readonly blocks: BlockManager,
  ) {
    if (!Number.isInteger(config.maxNumSeqs) || config.maxNumSeqs < 1) throw new RangeError(`maxNumSeqs must be a positive integer, got ${config.maxNumSeqs}`);
    if (!Number.isInteger(config.maxNumBatchedTokens) || config.maxNumBatchedTokens < config.maxNumSeqs) {
      throw new RangeError(`maxNumBatchedTokens must be an integer >= maxNumSeqs (${config.maxNumSeqs}), got ${config.maxNumBatchedTokens}`);
    }
  }

  /**
   * Queues a new sequence. Rejects one that could not finish even with the whole cache to itself:
   * admitting it would end in endless self-preemption.
   */
  add(seq: Sequence): void {
    const cacheTokens = this.blocks.numBlocks * this.blocks.blockSize;
    if (seq.maxKvTokens > cacheTokens) throw new RequestTooLargeError(seq.maxKvTokens, cacheTokens);
    seq.order = this.nextOrder++;
    seq.status = 'waiting';
    this.waiting.push(seq);
  }

  hasWork(): boolean {
    return this.waiting.length > 0 || this.running.length > 0;
  }

  schedule(): ScheduledStep {
    let budget = this.config.maxNumBatchedTokens;
    const chunks: ScheduledChunk[] = [];
    const preempted: Sequence[] = [];

    const decodes = this.running.filter((s) => s.numUncomputedTokens === 1);
    const prefills = this.running.filter((s) => s.numUncomputedTokens > 1);
    for (const seq of [...decodes, ...prefills]) {
      if (budget === 0) break;
      if (seq.status !== 'running') continue; // preempted earlier in this loop
      let numTokens = Math.min(seq.numUncomputedTokens, budget);
      while (!this.blocks.allocate(seq, numTokens)) {
        const victim = this.running[this.running.length - 1];
        if (victim === undefined) throw new Error(`sequence ${seq.id} cannot get KV blocks even alone (admission check failed; this is a bug)`);
        // A victim may already hold a decode slot in this step (decodes go first): take it back.
        const at = chunks.findIndex((c) => c.seq === victim);
        if (at >= 0) budget += chunks.splice(at, 1)[0]!.numTokens;
        this.preempt(victim);
        preempted.push(victim);
        if (victim === seq) break;
        numTokens = Math.min(seq.numUncomputedTokens, budget);
      }
      if (seq.status !== 'running') continue;
      chunks.push({ seq, startPos: seq.numComputedTokens, numTokens });
      budget -= numTokens;
    }

    // Admit only when nothing had to be preempted: the cache is under pressure otherwise.
    if (preempted.length === 0) {
      while (budget > 0 && this.running.length < this.config.maxNumSeqs) {
        const seq = this.waiting[0];
        if (seq === undefined) break;
        const hit = this.blocks.findCachedPrefix(seq);
        const startPos = hit.blockIds.length > 0 ? hit.numTokens : seq.numComputedTokens;
        const numTokens = Math.min(seq.numTokens - startPos, budget);
        if (!this.blocks.allocate(seq, numTokens, hit)) break; // FIFO: nobody overtakes the head
        this.waiting.shift();
        this.counters.prefixCacheQueries += seq.numTokens;
        this.counters.prefixCacheHits += hit.numTokens;
        if (!seq.admitted) seq.numCachedTokens = hit.numTokens;
        seq.admitted = true;
        seq.status = 'running';
        this.insertRunning(seq);
        chunks.push({ seq, startPos, numTokens });
        budget -= numTokens;
      }
    }
    return { chunks, numBatchedTokens: this.config.maxNumBatchedTokens - budget, preempted };
  }

  /**
   * After the step's forward: the scheduled tokens now have KV in the cache. Full blocks are
   * offered to the prefix cache. Returns the sequences that reached the end of their known tokens
   * (they have logits and must sample), in chunk order. Sequences finished meanwhile are skipped.
   */
  completeStep(step: ScheduledStep): Sequence[] {
    const sampling: Sequence[] = [];
    for (const { seq, startPos, numTokens } of step.chunks) {
      if (seq.status !== 'running') continue;
      seq.numComputedTokens = startPos + numTokens;
      this.blocks.cacheFullBlocks(seq);
      if (seq.numComputedTokens === seq.numTokens) sampling.push(seq);
    }
    return sampling;
  }

  /** Ends a sequence wherever it is (waiting or running) and frees its blocks at once. */
  finish(seq: Sequence, reason: FinishReason): void {
    if (seq.status === 'finished') return;
    remove(this.waiting, seq);
    remove(this.running, seq);
    this.blocks.free(seq);
    seq.status = 'finished';
    seq.finishReason = reason;
  }

  private preempt(seq: Sequence): void {
    remove(this.running, seq);
    this.blocks.free(seq);
    seq.status = 'waiting';
    seq.numPreemptions++;
    this.counters.preemptions++;
    this.waiting.unshift(seq);
  }

  private insertRunning(seq: Sequence): void {
    let at = this.running.length;
    while (at > 0 && this.running[at - 1]!.order > seq.order) at--;
    this.running.splice(at, 0, seq);
  }
}

function remove(list: Sequence[], seq: Sequence): void {
  const i = list.indexOf(seq);
  if (i >= 0) list.splice(i, 1);
}
