// What an architecture offers the registry: config normalization, weight binding, the model, and
// a description for `inspect` and `bench`. Each architecture file exports one of these; the
// registry is the only place that chooses among them by model_type.
import type { Backend, OpName } from '../ops/backend.js';
import type { KvDType, KvLayout } from '../ops/kv-cache.js';
import type { TensorStore } from '../formats/tensor-store.js';
import type { CausalLM } from './model.js';
import type { WeightBinder } from './weight-binder.js';
import type { GgufMetaReader } from './gguf-meta-reader.js';
import type { Communicator } from '../ops/communicator.js';
import type { ShardRule } from './tensor-shards.js';

export interface ModelOptions {
  /** FP8 checkpoints: 'quant' quantizes linear inputs per 128-block (DeepSeek's official semantics), 'none' is weight-only. */
  readonly fp8Activations?: 'quant' | 'none';
  /** DeepSeek-V3.2: attend to every causal key instead of the indexer's top-k. */
  readonly denseAttention?: boolean;
  /** Grouped-query attention models: the element type of cached K/V (default bf16). */
  readonly kvCacheDtype?: KvDType;
  /**
   * How linear inputs meet non-FP8 weights: 'float' keeps them float32 (Hugging Face files'
   * semantics); 'ggml' converts each input row to the weight's llama.cpp vec_dot type first
   * (Q8_0 / Q8_1 / Q8_K quants for GGUF blocks, f16 / bf16 rounding for F16 / BF16), as llama.cpp
   * computes the same file. Default: 'ggml' for GGUF files, 'float' otherwise.
   */
  readonly linearActivations?: 'float' | 'ggml';
  /** Tensor parallelism: this process runs one rank's shard and reduces partial sums with the others. */
  readonly communicator?: Communicator;
  /**
   * With a communicator: routed experts are split whole across the ranks (expert parallelism)
   * instead of each expert's width (tensor parallelism). Models without experts ignore it.
   */
  readonly expertParallel?: boolean;
}

export interface ModelDescription {
  /** labelled lines for `inspect` (label, text) */
  readonly lines: ReadonlyArray<readonly [string, string]>;
  readonly kvLayout: KvLayout;
  /**
   * How a decoded token uses a tensor: 'row' for an embedding table (one row read), otherwise the
   * fraction it runs: 0 for tensors the forward never runs (MTP layers), topk/E for a routed
   * expert, 1 for everything else.
   */
  usePerToken(name: string): number | 'row';
  readonly notes: readonly string[];
}

/** Where a tensor the architecture binds (by its Hugging Face name) lives in a GGUF file. */
export type GgufTensorRef = string | { readonly name: string; /** index along the first dimension (stacked experts) */ readonly slice: number } | GgufDerivedTensor;

/**
 * A tensor the file does not hold as such but stores in another layout (DeepSeek's kv_b_proj,
 * split into attn_k_b / attn_v_b): computed once from the file's tensors when first bound.
 */
export interface GgufDerivedTensor {
  /** the file's tensors it is made from (all must be present) */
  readonly from: readonly string[];
  readonly dtype: 'F32' | 'F16' | 'BF16';
  /** row-major shape */
  readonly shape: readonly number[];
  /** its little-endian bytes; throws a GgufError naming the file tensor whose shape or type does not fit */
  compute(file: TensorStore): Uint8Array;
}

/** An architecture's GGUF side: llama.cpp's architecture names, config from metadata, tensor names. */
export interface GgufArchitecture<C> {
  /** `general.architecture` values */
  readonly architectures: readonly string[];
  config(meta: GgufMetaReader, tensors: TensorStore): C;
  tensorName(hfName: string, c: C): GgufTensorRef | null;
}

/** Which share of the model one process runs. */
export interface ParallelShard {
  readonly rank: number;
  readonly size: number;
  /** routed experts whole per rank (expert parallelism) rather than split in width */
  readonly expertParallel: boolean;
}

/** How an architecture splits over tensor-parallel ranks (Megatron style: heads and MLP columns). */
export interface TensorParallelPlan<C> {
  /** One rank's config (heads and MLP width divided); a ModelFormatError naming the key when they do not divide. */
  shardConfig(c: C, shard: ParallelShard, file: string): C;
  /** How a tensor (Hugging Face name) of a model with config `c` (the whole model's) splits: see tensor-shards.ts. */
  split(name: string, c: C, shard: ParallelShard): ShardRule;
}

export interface Architecture<C> {
  readonly modelTypes: readonly string[];
  parseConfig(file: string, raw: Record<string, unknown>): C;
  bindWeights(c: C, binder: WeightBinder): unknown;
  /** ops beyond the core ones the forward pass calls */
  requiredOps(c: C): readonly OpName[];
  create(c: C, store: TensorStore, backend: Backend, options: ModelOptions): CausalLM;
  describe(c: C, options: ModelOptions): ModelDescription;
  readonly gguf?: GgufArchitecture<C>;
  readonly tensorParallel?: TensorParallelPlan<C>;
}
