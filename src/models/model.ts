// What every architecture offers the engine: a forward pass over a batch of sequence slices.
import type { Backend } from '../ops/backend.js';
import type { KvCache } from '../ops/kv-cache.js';
import type { SeqSlice } from '../ops/step.js';
import type { Routing, Selection, Tensor } from '../ops/tensors.js';

export interface ModelInfo {
  readonly architecture: string;
  readonly vocabSize: number;
  readonly hiddenSize: number;
  readonly numLayers: number;
  readonly maxPositionEmbeddings: number;
  readonly bosTokenId: number | null;
  readonly eosTokenIds: readonly number[];
}

export interface ForwardInput {
  /** [T] token ids; rows are grouped by sequence as `seqs` describes (prefill slices first) */
  readonly tokens: Int32Array;
  readonly seqs: readonly SeqSlice[];
  /** rows whose logits are returned, in this order */
  readonly logitRows: Int32Array;
}

/** Optional per-layer captures for debugging and tests (hidden state after each layer, etc.). */
export interface ForwardTrace {
  hidden?: Tensor[];
  indexerTopk?: Array<Selection | null>;
  routing?: Array<Routing | null>;
}

export interface CausalLM {
  readonly info: ModelInfo;
  readonly backend: Backend;
  createKvCache(numBlocks: number, blockSize: number): KvCache;
  /** Logits [logitRows.length, vocab] as float32. */
  forward(input: ForwardInput, cache: KvCache, trace?: ForwardTrace): Promise<Float32Array>;
  dispose(): void;
}
