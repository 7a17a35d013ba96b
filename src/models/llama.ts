// The Llama family — Llama 3.x, Qwen2/2.5, Qwen3 — written against the op API: the architectures
// of DeepSeek-R1-Distill-Llama, -Qwen and R1-0528-Qwen3. Pre-norm decoder layers: RMSNorm →
// grouped-query attention with half-split RoPE over a paged K/V cache → residual; RMSNorm →
// SwiGLU MLP → residual. Qwen2 adds q/k/v biases, Qwen3 an RMSNorm over each head of q and k.
// Shapes are [rows, cols] with heads as column groups; T = rows of the step.
import type { Backend } from '../ops/backend.js';
import type { KvCache, KvDType } from '../ops/kv-cache.js';
import type { Step } from '../ops/step.js';
import type { LinearMode, Tensor, Weight } from '../ops/tensors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { ropeTable } from '../numerics/rope.js';
import { LLAMA_MODEL_TYPES, describeLlama, llamaKvLayout, llamaRopeAmplitude, llamaRopeFrequencies, parseLlamaConfig } from './llama-config.js';
import type { Architecture, ModelOptions } from './architecture.js';
import { GQA_OPS } from '../ops/backend.js';
import { LLAMA_GGUF } from './llama-gguf.js';
import { LLAMA_TENSOR_PARALLEL } from './llama-parallel.js';
import type { Communicator } from '../ops/communicator.js';
import type { LlamaConfig } from './llama-config.js';
import { bindLlamaWeights } from './llama-weights.js';
import type { LlamaLayerWeights, LlamaWeights } from './llama-weights.js';
import type { CausalLM, ForwardInput, ForwardTrace, ModelInfo } from './model.js';
import { StoreBinder } from './weight-binder.js';
import { gatherVocab, sumOverRanks } from './rank-collectives.js';

export type LlamaOptions = Pick<ModelOptions, 'kvCacheDtype' | 'linearActivations' | 'communicator'>;

/** Cached K/V default to bf16: half the memory of f32, the precision of the weights people run. */
const DEFAULT_KV_DTYPE: KvDType = 'bf16';

export class LlamaModel implements CausalLM {
  readonly info: ModelInfo;
  private readonly w: LlamaWeights;
  private readonly freqs: Float32Array;
  private readonly ropeAmp: number;
  private readonly scale: number;
  private readonly kvDtype: KvDType;
  /** 'ggml' for llama.cpp's activation conversion (GGUF files), else 'plain' */
  private readonly linearMode: LinearMode;
  private readonly communicator: Communicator | undefined;

  constructor(
    readonly config: LlamaConfig,
    store: TensorStore,
    readonly backend: Backend,
    options: LlamaOptions,
  ) {
    const c = config;
    this.w = bindLlamaWeights(c, new StoreBinder(store, backend));
    this.info = {
      architecture: c.modelType,
      vocabSize: c.vocabSize,
      hiddenSize: c.hiddenSize,
      numLayers: c.numLayers,
      maxPositionEmbeddings: c.maxPositionEmbeddings,
      bosTokenId: c.bosTokenId,
      eosTokenIds: c.eosTokenIds,
    };
    this.freqs = llamaRopeFrequencies(c);
    this.ropeAmp = llamaRopeAmplitude(c);
    this.scale = c.headDim ** -0.5;
    this.kvDtype = options.kvCacheDtype ?? DEFAULT_KV_DTYPE;
    this.linearMode = options.linearActivations === 'ggml' ? 'ggml' : 'plain';
    this.communicator = options.communicator;
  }

  createKvCache(numBlocks: number, blockSize: number): KvCache {
    return this.backend.createKvCache({ ...llamaKvLayout(this.config, this.kvDtype), numBlocks, blockSize });
  }

  async forward(input: ForwardInput, cache: KvCache, trace?: ForwardTrace): Promise<Float32Array> {
    const b = this.backend;
    const c = this.config;
    const positions = new Int32Array(input.tokens.length);
    for (const s of input.seqs) for (let i = 0; i < s.rows; i++) positions[s.rowStart + i] = s.startPos + i;
    const { cos, sin } = ropeTable(positions, this.freqs, this.ropeAmp);
    const step = b.beginStep({ tokens: input.tokens, seqs: input.seqs, ropeCos: cos, ropeSin: sin }, cache);

    let h = b.embed(this.w.embed, step); // [T, hidden]
    for (let l = 0; l < c.numLayers; l++) {
      const layer = this.w.layers[l]!;
      h = b.add(h, await this.reduce(this.attention(l, layer, b.rmsNorm(h, layer.inputNorm, c.rmsNormEps), cache, step)));
      h = b.add(h, await this.reduce(this.mlp(layer, b.rmsNorm(h, layer.postNorm, c.rmsNormEps))));
      trace?.hidden?.push(h);
    }
    const last = b.rmsNorm(b.gatherRows(h, input.logitRows), this.w.norm, c.rmsNormEps); // [R, hidden]
    const logits = await b.read(b.linear(last, this.w.lmHead, this.linearMode)); // [R, vocab / shards]
    return gatherVocab(this.communicator, this.config.lmHeadShards ?? 1, logits, input.logitRows.length);
  }

  dispose(): void {
    this.backend.dispose();
  }

  /** Tensor parallelism: the sum of every rank's partial output (o_proj and down_proj split by columns). */
  private reduce(x: Tensor): Promise<Tensor> {
    return sumOverRanks(this.backend, this.communicator, x);
  }

  private linear(x: Tensor, w: Weight, bias: Weight | null): Tensor {
    return this.backend.linear(x, w, this.linearMode, 'ue8m0', bias);
  }

  private attention(l: number, w: LlamaLayerWeights, a: Tensor, cache: KvCache, step: Step): Tensor {
    const b = this.backend;
    const c = this.config;
    const D = c.headDim;
    let q = this.linear(a, w.q, w.qBias); // [T, heads*D]
    let k = this.linear(a, w.k, w.kBias); // [T, kvHeads*D]
    const v = this.linear(a, w.v, w.vBias); // [T, kvHeads*D]
    if (w.qNorm && w.kNorm) {
      q = b.rmsNorm(q, w.qNorm, c.rmsNormEps); // per head: the gain has D values
      k = b.rmsNorm(k, w.kNorm, c.rmsNormEps);
    }
    q = b.rope(q, c.numHeads, 0, D, c.ropeLayout, step);
    k = b.rope(k, c.numKvHeads, 0, D, c.ropeLayout, step);
    b.writeKvCache(cache, l, k, v, step);
    const o = b.gqaAttention(cache, l, q, this.scale, step); // [T, heads*D]
    return this.linear(o, w.o, w.oBias); // [T, hidden]
  }

  private mlp(w: LlamaLayerWeights, x: Tensor): Tensor {
    const b = this.backend;
    return this.linear(b.siluMul(this.linear(x, w.gate, w.gateBias), this.linear(x, w.up, w.upBias)), w.down, w.downBias);
  }
}

export const LLAMA_ARCHITECTURE: Architecture<LlamaConfig> = {
  modelTypes: LLAMA_MODEL_TYPES,
  parseConfig: parseLlamaConfig,
  bindWeights: bindLlamaWeights,
  requiredOps: () => GQA_OPS,
  create: (c, store, backend, options) => new LlamaModel(c, store, backend, options),
  describe: (c, options) => describeLlama(c, options.kvCacheDtype ?? DEFAULT_KV_DTYPE),
  gguf: LLAMA_GGUF,
  tensorParallel: LLAMA_TENSOR_PARALLEL,
};
