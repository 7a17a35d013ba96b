// The engine: requests in, token events out. One async loop runs a step (schedule -> one batched
// forward -> sample -> stop checks) while there is work and sleeps on a promise when there is none.
// Scheduler and block manager do the bookkeeping, the model runner is the only part that touches
// the model, and this file wires them to per-request event streams.
import { randomUUID } from 'node:crypto';
import type { CausalLM } from '../models/model.js';
import { BlockManager } from './block-manager.js';
import { normalizeEngineOptions } from './engine-config.js';
import type { EngineConfig, EngineOptions } from './engine-config.js';
import { EngineDeadError, RequestValidationError } from './engine-errors.js';
import { validateRequest } from './engine-request.js';
import type { EngineEvent, GenerateRequest, GenerateResult, TokenEvent } from './engine-request.js';
import { ModelRunner } from './model-runner.js';
import { RequestStream } from './request-stream.js';
import type { SampledToken } from './sampler.js';
import { Scheduler } from './scheduler.js';
import { Sequence } from './sequence.js';
import type { FinishReason } from './sequence.js';

export interface RequestHandle extends AsyncIterable<EngineEvent> {
  readonly requestId: string;
  /** Same as engine.abort(requestId). Leaving a for-await loop early aborts too. */
  abort(): void;
}

export interface EngineStats {
  readonly running: number;
  readonly waiting: number;
  readonly numBlocks: number;
  readonly freeBlocks: number;
  /** fraction of KV blocks held by requests, 0..1 */
  readonly kvCacheUsage: number;
  readonly promptTokensTotal: number;
  readonly generationTokensTotal: number;
  readonly preemptionsTotal: number;
  /** prompt tokens looked up in / found in the prefix cache at admission */
  readonly prefixCacheQueries: number;
  readonly prefixCacheHits: number;
  readonly stepsTotal: number;
  readonly finished: Readonly<Record<FinishReason, number>>;
  /** Date.now() when the last step completed (watchdog: a busy engine must keep moving this) */
  readonly lastStepAt: number | null;
  /** Date.now() when the step in flight began, null between steps */
  readonly stepStartedAt: number | null;
  readonly dead: boolean;
}

interface ActiveRequest {
  readonly seq: Sequence;
  readonly stream: RequestStream<EngineEvent>;
  readonly stopCheck: GenerateRequest['stopCheck'];
}

export class LLMEngine {
  readonly config: EngineConfig;
  private readonly blocks: BlockManager;
  private readonly scheduler: Scheduler;
  private readonly runner: ModelRunner;
  private readonly requests = new Map<string, ActiveRequest>();
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private dead: EngineDeadError | null = null;
  private totals = { prompt: 0, generation: 0, steps: 0 };
  private readonly finishedCount: Record<FinishReason, number> = { stop: 0, length: 0, abort: 0 };
  private lastStepAt: number | null = null;
  private stepStartedAt: number | null = null;

  constructor(
    readonly model: CausalLM,
    options: EngineOptions,
  ) {
    this.config = normalizeEngineOptions(options, model.info);
    const c = this.config;
    this.blocks = new BlockManager(c.numBlocks, c.blockSize, c.enablePrefixCaching);
    this.scheduler = new Scheduler({ maxNumSeqs: c.maxNumSeqs, maxNumBatchedTokens: c.maxNumBatchedTokens }, this.blocks);
    this.runner = new ModelRunner(model, c.numBlocks, c.blockSize);
  }

  /** Queues a request; throws a typed error (before admission) when it can never be served. */
  addRequest(req: GenerateRequest): RequestHandle {
    if (this.dead) throw this.dead;
    const id = req.requestId ?? randomUUID();
    if (this.requests.has(id)) throw new RequestValidationError('request_id', `"${id}" is already in use by an active request`);
    const seq = new Sequence({ ...validateRequest(req, this.config, this.model.info), id, arrivalTime: Date.now() });
    const stream = new RequestStream<EngineEvent>(() => this.abort(id));
    this.scheduler.add(seq);
    this.requests.set(id, { seq, stream, stopCheck: req.stopCheck });
    this.startLoop();
    return {
      requestId: id,
      abort: () => void this.abort(id),
      [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator](),
    };
  }

  /** Runs a request to the end and collects its tokens. */
  async generate(req: GenerateRequest): Promise<GenerateResult> {
    const tokenIds: number[] = [];
    for await (const ev of this.addRequest(req)) {
      if (ev.type === 'token') tokenIds.push(ev.tokenId);
      else return { tokenIds, finishReason: ev.finishReason, stopTokenId: ev.stopTokenId, usage: ev.usage };
    }
    throw new EngineDeadError('the request stream ended without a finish event');
  }

  /** Ends a queued or running request now and frees its KV blocks; false if it is not active. */
  abort(requestId: string): boolean {
    const req = this.requests.get(requestId);
    if (!req) return false;
    this.finish(req, 'abort', null);
    return true;
  }

  stats(): EngineStats {
    const counters = this.scheduler.counters;
    return {
      running: this.scheduler.running.length,
      waiting: this.scheduler.waiting.length,
      numBlocks: this.blocks.numBlocks,
      freeBlocks: this.blocks.numFreeBlocks,
      kvCacheUsage: this.blocks.usage(),
      promptTokensTotal: this.totals.prompt,
      generationTokensTotal: this.totals.generation,
      preemptionsTotal: counters.preemptions,
      prefixCacheQueries: counters.prefixCacheQueries,
      prefixCacheHits: counters.prefixCacheHits,
      stepsTotal: this.totals.steps,
      finished: { ...this.finishedCount },
      lastStepAt: this.lastStepAt,
      stepStartedAt: this.stepStartedAt,
      dead: this.dead !== null,
    };
  }

  /** Health for /health: not dead, and no step running longer than `stuckAfterMs`. */
  health(stuckAfterMs = 120_000, now = Date.now()): { ok: boolean; reason: string | null } {
    if (this.dead) return { ok: false, reason: this.dead.message };
    if (this.stepStartedAt !== null && now - this.stepStartedAt > stuckAfterMs) {
      return { ok: false, reason: `a step has been running for ${now - this.stepStartedAt} ms` };
    }
    return { ok: true, reason: null };
  }

  /** Aborts every request and stops the loop; later requests are refused. */
  async close(): Promise<void> {
    this.dead ??= new EngineDeadError('closed');
    for (const req of [...this.requests.values()]) this.finish(req, 'abort', null);
    this.wake?.();
    await this.loop;
  }

  // -------------------------------------------------------------------------------------------

  private startLoop(): void {
    this.loop ??= this.runLoop();
    this.wake?.();
  }

  private async runLoop(): Promise<void> {
    try {
      // Start on a later tick: addRequest returns at once, and requests added in the same tick
      // share the first step.
      await new Promise<void>((resolve) => setImmediate(resolve));
      while (!this.dead) {
        if (!this.scheduler.hasWork()) {
          await new Promise<void>((resolve) => (this.wake = resolve));
          this.wake = null;
          continue;
        }
        await this.step();
        // Let I/O in (new requests, aborts, socket writes) even when the forward resolved at once.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    } catch (err) {
      this.die(err);
    }
  }

  private async step(): Promise<void> {
    const step = this.scheduler.schedule();
    // Unreachable while the scheduler keeps its promise; failing beats spinning on an empty step.
    if (step.chunks.length === 0) throw new Error('the scheduler found no runnable work although requests are pending');
    this.stepStartedAt = Date.now();
    const result = await this.runner.run(step.chunks);
    this.scheduler.completeStep(step);
    result.seqs.forEach((seq, i) => {
      // Aborted while the forward ran: its blocks are already free and its token is dropped.
      if (seq.status === 'running') this.emitToken(seq, result.tokens[i]!);
    });
    this.totals.steps++;
    this.stepStartedAt = null;
    this.lastStepAt = Date.now();
  }

  private emitToken(seq: Sequence, token: SampledToken): void {
    const req = this.requests.get(seq.id);
    if (!req) throw new Error(`running sequence ${seq.id} has no request`);
    seq.appendToken(token.id);
    if (seq.constraint && !seq.constraint.accept(token.id)) {
      this.fail(req, new Error(`token ${token.id} was sampled although the request's grammar does not allow it`));
      return;
    }
    this.totals.generation++;
    if (seq.outputIds.length === 1) this.totals.prompt += seq.promptLength;
    const event: TokenEvent = {
      type: 'token',
      tokenId: token.id,
      index: seq.outputIds.length - 1,
      ...(token.logprob !== undefined ? { logprob: token.logprob, rank: token.rank, topLogprobs: token.topLogprobs } : {}),
    };
    req.stream.push(event);

    let reason = seq.stopReason();
    const stopTokenId = reason === 'stop' ? token.id : null;
    if (reason === null && req.stopCheck && seq.outputIds.length >= seq.minTokens) {
      try {
        if (req.stopCheck(token.id, seq.outputIds)) reason = 'stop';
      } catch (err) {
        this.fail(req, err); // a broken hook fails its own request, not the engine
        return;
      }
    }
    if (reason !== null) this.finish(req, reason, stopTokenId);
  }

  private finish(req: ActiveRequest, reason: FinishReason, stopTokenId: number | null): void {
    const seq = req.seq;
    this.end(seq, reason);
    seq.stopTokenId = stopTokenId;
    this.requests.delete(seq.id);
    this.finishedCount[reason]++;
    req.stream.push({
      type: 'finish',
      finishReason: reason,
      stopTokenId,
      usage: { promptTokens: seq.promptLength, completionTokens: seq.outputIds.length, cachedTokens: seq.numCachedTokens },
    });
    req.stream.end();
  }

  private fail(req: ActiveRequest, err: unknown): void {
    this.end(req.seq, 'abort');
    this.requests.delete(req.seq.id);
    req.stream.fail(err);
  }

  private end(seq: Sequence, reason: FinishReason): void {
    this.scheduler.finish(seq, reason);
    seq.constraint?.dispose();
  }

  /** A failed step leaves the cache in an unknown state: fail every request and refuse new ones. */
  private die(err: unknown): void {
    const reason = err instanceof Error ? err.message : String(err);
    this.dead = new EngineDeadError(`a step failed: ${reason}`, err);
    for (const req of [...this.requests.values()]) {
      this.end(req.seq, 'abort');
      req.stream.fail(this.dead);
    }
    this.requests.clear();
    this.stepStartedAt = null;
  }
}
