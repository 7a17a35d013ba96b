// The only engine code that touches the model (nano-vllm's ModelRunner): owns the paged KV cache,
// runs one batched forward per scheduled step and samples the rows that produced logits.
import type { KvCache } from '../ops/kv-cache.js';
import type { CausalLM } from '../models/model.js';
import { buildForwardBatch } from './forward-batch.js';
import { sampleBatch } from './sampler.js';
import type { SampledToken, SampleContext } from './sampler.js';
import type { ScheduledChunk } from './scheduler.js';
import type { Sequence } from './sequence.js';

export interface StepResult {
  /** sequences that sampled, with their tokens, in the same order */
  readonly seqs: readonly Sequence[];
  readonly tokens: readonly SampledToken[];
}

export class ModelRunner {
  readonly cache: KvCache;

  constructor(
    readonly model: CausalLM,
    numBlocks: number,
    blockSize: number,
  ) {
    this.cache = model.createKvCache(numBlocks, blockSize);
  }

  async run(chunks: readonly ScheduledChunk[]): Promise<StepResult> {
    const batch = buildForwardBatch(chunks);
    // Grammar masks depend only on tokens already appended, so they are computed alongside the
    // forward; unconstrained rows get none and pay nothing.
    const masks = Promise.all(batch.logitSeqs.map((s) => s.constraint?.nextTokenMask()));
    const logits = await this.model.forward(batch.input, this.cache); // [logitRows, vocab]
    const allowed = await masks;
    // A sequence aborted while the forward ran is still sampled (its row exists); the caller
    // drops the token. Sampling one row is negligible next to the forward.
    const contexts: SampleContext[] = batch.logitSeqs.map((s, i) => ({
      params: s.sampling,
      rng: s.rng,
      promptIds: s.promptIds,
      outputIds: s.outputIds,
      blockedIds: s.blockedIds(),
      allowedMask: allowed[i],
    }));
    return { seqs: batch.logitSeqs, tokens: sampleBatch(logits, this.model.info.vocabSize, contexts) };
  }
}
