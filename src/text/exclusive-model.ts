// A CausalLM wrapper that runs one forward at a time. The engine owns the model's main KV cache,
// but a few text features need forwards of their own (prompt logprobs score a prompt through a
// separate small cache; load-time warm-up compiles kernels). Backends keep per-step scratch
// buffers, so two forwards must never interleave: every caller goes through this queue.
import type { KvCache } from '../ops/kv-cache.js';
import type { CausalLM, ForwardInput, ForwardTrace, ModelInfo } from '../models/model.js';

export class ExclusiveModel implements CausalLM {
  readonly info: ModelInfo;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(readonly inner: CausalLM) {
    this.info = inner.info;
  }

  get backend(): CausalLM['backend'] {
    return this.inner.backend;
  }

  createKvCache(numBlocks: number, blockSize: number): KvCache {
    return this.inner.createKvCache(numBlocks, blockSize);
  }

  forward(input: ForwardInput, cache: KvCache, trace?: ForwardTrace): Promise<Float32Array> {
    const run = this.tail.then(() => this.inner.forward(input, cache, trace));
    // The next caller waits for this one to settle, whether it succeeded or not.
    this.tail = run.catch(() => undefined);
    return run;
  }

  dispose(): void {
    this.inner.dispose();
  }
}
