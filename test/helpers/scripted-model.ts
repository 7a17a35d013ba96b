// A CausalLM whose greedy output follows a script of token ids: for each logits row it finds the
// longest prefix of the script that the context already ends with and puts the highest logit on
// the next script token (EOS once the script is done). Lets text and server tests drive exact
// outputs (reasoning, tool calls, stop strings, split UTF-8) through the real engine.
import type { Backend } from '../../src/ops/backend.js';
import type { KvCache } from '../../src/ops/kv-cache.js';
import type { CausalLM, ForwardInput, ModelInfo } from '../../src/models/model.js';
import { FakeKvCache } from './engine-fake-model.js';

export interface ScriptedModelOptions {
  readonly vocabSize: number;
  readonly eosTokenId?: number;
  readonly maxPositionEmbeddings?: number;
  /** ms to wait in every forward (to act while a request runs) */
  readonly delayMs?: number;
}

export class ScriptedModel implements CausalLM {
  readonly info: ModelInfo;
  script: readonly number[];
  forwardCalls = 0;
  /** ms to wait in every forward (to act while a request runs) */
  delayMs: number;
  /** throw from every forward after this many calls (a device failure) */
  failAfterCalls = Infinity;

  constructor(script: readonly number[], opts: ScriptedModelOptions) {
    this.script = script;
    this.delayMs = opts.delayMs ?? 0;
    this.info = {
      architecture: 'scripted',
      vocabSize: opts.vocabSize,
      hiddenSize: 1,
      numLayers: 1,
      maxPositionEmbeddings: opts.maxPositionEmbeddings ?? 4096,
      bosTokenId: 0,
      eosTokenIds: [opts.eosTokenId ?? 1],
    };
  }

  get backend(): Backend {
    throw new Error('a scripted model has no backend');
  }

  createKvCache(numBlocks: number, blockSize: number): KvCache {
    return new FakeKvCache({ kind: 'mla', layers: 1, numBlocks, blockSize, latentDim: 1, ropeDim: 0, indexDim: 0, latentFormat: 'f32' });
  }

  async forward(input: ForwardInput, cache: KvCache): Promise<Float32Array> {
    if (++this.forwardCalls > this.failAfterCalls) throw new Error('simulated device failure');
    if (!(cache instanceof FakeKvCache)) throw new Error('foreign KV cache');
    const bs = cache.spec.blockSize;
    const slot = (table: Int32Array, pos: number): number => table[Math.floor(pos / bs)]! * bs + (pos % bs);
    for (const s of input.seqs) {
      for (let i = 0; i < s.rows; i++) cache.tokens[slot(s.blockTable, s.startPos + i)] = input.tokens[s.rowStart + i]!;
    }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    const V = this.info.vocabSize;
    // Every other token far below: the script is followed at any temperature.
    const out = new Float32Array(input.logitRows.length * V).fill(-100); // [R, V]
    input.logitRows.forEach((row, r) => {
      const s = input.seqs.find((x) => row >= x.rowStart && row < x.rowStart + x.rows)!;
      const pos = s.startPos + row - s.rowStart;
      const context = Array.from({ length: pos + 1 }, (_, p) => cache.tokens[slot(s.blockTable, p)]!);
      out[r * V + this.next(context)] = 10;
    });
    return out;
  }

  /** The script token that follows `context`. */
  next(context: readonly number[]): number {
    const S = this.script;
    for (let k = Math.min(context.length, S.length); k > 0; k--) {
      let match = true;
      for (let j = 0; j < k && match; j++) match = context[context.length - k + j] === S[j];
      if (match) return S[k] ?? this.info.eosTokenIds[0]!;
    }
    return S[0] ?? this.info.eosTokenIds[0]!;
  }

  dispose(): void {}
}
