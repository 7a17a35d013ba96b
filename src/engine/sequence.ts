// One request's state as the scheduler and block manager see it: its tokens, how many of them have
// KV in the cache, where that KV lives (block table) and why it stopped. Bookkeeping only.
import { createRng } from './sampler.js';
import type { Rng, SamplingParams } from './sampler.js';
import type { TokenConstraint } from './token-constraint.js';

export type SequenceStatus = 'waiting' | 'running' | 'finished';
export type FinishReason = 'stop' | 'length' | 'abort';

export interface SequenceInit {
  readonly id: string;
  readonly promptIds: readonly number[];
  readonly sampling: SamplingParams;
  readonly maxTokens: number;
  /** EOS and stop ids cannot be sampled before this many output tokens (vLLM's min_tokens). */
  readonly minTokens?: number;
  /** Finish with 'stop' on these ids even when ignoreEos is set. */
  readonly stopTokenIds?: readonly number[];
  readonly eosTokenIds?: readonly number[];
  readonly ignoreEos?: boolean;
  /** Mixed into the first block hash so tenants with different salts never share cached KV. */
  readonly cacheSalt?: string;
  readonly constraint?: TokenConstraint;
  /** ms timestamp */
  readonly arrivalTime?: number;
}

export class Sequence {
  readonly id: string;
  readonly promptIds: readonly number[];
  /** prompt then output ids: every token whose KV the sequence needs, plus the last sampled one */
  readonly tokenIds: number[];
  readonly outputIds: number[] = [];
  readonly sampling: SamplingParams;
  readonly maxTokens: number;
  readonly minTokens: number;
  readonly stopTokenIds: ReadonlySet<number>;
  readonly eosTokenIds: ReadonlySet<number>;
  readonly ignoreEos: boolean;
  readonly cacheSalt: string | undefined;
  /** structured output: which tokens may come next */
  readonly constraint: TokenConstraint | undefined;
  readonly arrivalTime: number;
  /** Per-request RNG: seeded requests reproduce regardless of what else is batched with them. */
  readonly rng: Rng;

  status: SequenceStatus = 'waiting';
  finishReason: FinishReason | null = null;
  /** the stop/EOS id that finished the sequence, if one did */
  stopTokenId: number | null = null;
  /** Tokens whose KV is in the cache (positions [0, numComputedTokens)). */
  numComputedTokens = 0;
  /** Prefix-cache hit at first admission, for usage reporting. */
  numCachedTokens = 0;
  /** Physical cache blocks holding positions [i * blockSize, (i + 1) * blockSize). */
  blockTable: number[] = [];
  /** Chained content hashes of this sequence's full token blocks (valid forever: tokens only grow). */
  readonly blockHashes: string[] = [];
  /** Leading blocks of `blockTable` already offered to the prefix cache. */
  numRegisteredBlocks = 0;
  numPreemptions = 0;
  /** Admission order, set by the scheduler; lower = older = higher priority. */
  order = -1;
  admitted = false;

  constructor(init: SequenceInit) {
    this.id = init.id;
    this.promptIds = Object.freeze([...init.promptIds]);
    this.tokenIds = [...init.promptIds];
    this.sampling = init.sampling;
    this.maxTokens = init.maxTokens;
    this.minTokens = init.minTokens ?? 0;
    this.stopTokenIds = new Set(init.stopTokenIds ?? []);
    this.eosTokenIds = new Set(init.eosTokenIds ?? []);
    this.ignoreEos = init.ignoreEos ?? false;
    this.cacheSalt = init.cacheSalt;
    this.constraint = init.constraint;
    this.arrivalTime = init.arrivalTime ?? Date.now();
    this.rng = createRng(init.sampling.seed);
  }

  get promptLength(): number {
    return this.promptIds.length;
  }

  get numTokens(): number {
    return this.tokenIds.length;
  }

  /** Tokens the model still has to see before this sequence can sample again. */
  get numUncomputedTokens(): number {
    return this.tokenIds.length - this.numComputedTokens;
  }

  get isFinished(): boolean {
    return this.status === 'finished';
  }

  /** KV slots this request may ever need: the last sampled token is never fed back. */
  get maxKvTokens(): number {
    return this.promptLength + this.maxTokens - 1;
  }

  /** Ids the sampler must not pick now (EOS / stop ids before min_tokens). */
  blockedIds(): readonly number[] {
    if (this.outputIds.length >= this.minTokens) return [];
    return [...this.stopTokenIds, ...(this.ignoreEos ? [] : this.eosTokenIds)];
  }

  appendToken(id: number): void {
    this.tokenIds.push(id);
    this.outputIds.push(id);
  }

  /** The finish reason the last appended token causes, or null to keep going. */
  stopReason(): FinishReason | null {
    const last = this.outputIds[this.outputIds.length - 1];
    if (last !== undefined && this.outputIds.length >= this.minTokens) {
      if (this.stopTokenIds.has(last) || (!this.ignoreEos && this.eosTokenIds.has(last))) return 'stop';
    }
    return this.outputIds.length >= this.maxTokens ? 'length' : null;
  }
}
