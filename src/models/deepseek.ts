// DeepSeek-V2 / V3 / V3.2 (MLA + DSA lightning indexer + DeepSeekMoE), written against the op API.
// Reads top to bottom like DeepSeek's reference inference code; shapes are [rows, cols] with heads
// as column groups. T = rows of the step, Tp/Td = its prefill/decode rows, K = gathered prefill keys.
import type { Backend } from '../ops/backend.js';
import type { KvCache } from '../ops/kv-cache.js';
import type { Step } from '../ops/step.js';
import type { LinearMode, RoutingParams, Tensor, Weight } from '../ops/tensors.js';
import { attentionScale, ropeAmplitude, ropeFrequencies, ropeTable } from '../numerics/rope.js';
import { DEEPSEEK_MODEL_TYPES, deepseekKvLayout, describeDeepseek, isMoeLayer, parseDeepseekConfig } from './deepseek-config.js';
import type { DeepseekConfig } from './deepseek-config.js';
import type { Architecture, ModelOptions } from './architecture.js';
import { MLA_OPS, MOE_OPS } from '../ops/backend.js';
import { bindDeepseekWeights, isMoe } from './deepseek-weights.js';
import type { AttentionWeights, DeepseekWeights, DenseMlpWeights, MoeWeights } from './deepseek-weights.js';
import type { CausalLM, ForwardInput, ForwardTrace, ModelInfo } from './model.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { StoreBinder } from './weight-binder.js';
import { DEEPSEEK_GGUF } from './deepseek-gguf.js';
import { DEEPSEEK_TENSOR_PARALLEL } from './deepseek-parallel.js';
import { gatherVocab, sumOverRanks } from './rank-collectives.js';

export type DeepseekOptions = Pick<ModelOptions, 'fp8Activations' | 'denseAttention' | 'linearActivations' | 'communicator'>;

export class DeepseekModel implements CausalLM {
  readonly info: ModelInfo;
  private readonly w: DeepseekWeights;
  private readonly freqs: Float32Array;
  private readonly ropeAmp: number;
  private readonly scale: number;
  private readonly routing: RoutingParams;
  private readonly scaleFormat: 'ue8m0' | 'plain';

  constructor(
    readonly config: DeepseekConfig,
    store: TensorStore,
    readonly backend: Backend,
    private readonly options: DeepseekOptions,
  ) {
    const c = config;
    this.w = bindDeepseekWeights(c, new StoreBinder(store, backend));
    this.info = {
      architecture: c.modelType,
      vocabSize: c.vocabSize,
      hiddenSize: c.hiddenSize,
      numLayers: c.numLayers,
      maxPositionEmbeddings: c.maxPositionEmbeddings,
      bosTokenId: c.bosTokenId,
      eosTokenIds: c.eosTokenIds,
    };
    this.freqs = ropeFrequencies({ theta: c.ropeTheta, dim: c.qkRopeHeadDim, yarn: c.yarn });
    this.ropeAmp = ropeAmplitude(c.yarn);
    this.scale = attentionScale(c.qkNopeHeadDim + c.qkRopeHeadDim, c.yarn);
    this.scaleFormat = c.fp8?.scaleFormat ?? 'ue8m0';
    this.routing = {
      topk: c.numExpertsPerTok,
      nGroup: c.topkMethod === 'greedy' ? 1 : c.nGroup,
      topkGroup: c.topkGroup,
      scoring: c.scoringFunc,
      groupScore: c.topkMethod === 'noaux_tc' ? 'top2-sum' : 'max',
      normalize: c.normTopkProb && c.numExpertsPerTok > 1,
      scalingFactor: c.routedScalingFactor,
    };
  }

  createKvCache(numBlocks: number, blockSize: number): KvCache {
    return this.backend.createKvCache({ ...deepseekKvLayout(this.config), numBlocks, blockSize });
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
      const a = b.rmsNorm(h, layer.inputNorm, c.rmsNormEps);
      h = b.add(h, await this.reduce(this.attention(l, layer.attn, a, cache, step, trace)));
      const f = b.rmsNorm(h, layer.postNorm, c.rmsNormEps);
      h = b.add(h, await this.reduce(isMoe(layer.mlp) ? this.moe(layer.mlp, f, trace) : this.mlp(layer.mlp, f)));
      trace?.hidden?.push(h);
    }
    const last = b.rmsNorm(b.gatherRows(h, input.logitRows), this.w.norm, c.rmsNormEps); // [R, hidden]
    const logits = await b.read(b.linear(last, this.w.lmHead, this.mode(this.w.lmHead))); // [R, vocab / shards]
    return gatherVocab(this.options.communicator, c.lmHeadShards ?? 1, logits, input.logitRows.length);
  }

  /** Tensor parallelism: the sum of every rank's partial output (o_proj, down_proj split by columns; each rank's experts). */
  private reduce(x: Tensor): Promise<Tensor> {
    return sumOverRanks(this.backend, this.options.communicator, x);
  }

  /**
   * Cost measurement only (`tessera bench --fill-context`): writes the cache rows of `input` (one
   * prefill slice) as every layer's own kv_a / indexer-key projections of `hidden` [T, hidden]
   * (random states stand in for the residual stream); nothing else of the forward runs.
   */
  fillCache(input: ForwardInput, cache: KvCache, hidden: Float32Array): void {
    const b = this.backend;
    const c = this.config;
    const T = input.tokens.length;
    const positions = new Int32Array(T);
    for (const s of input.seqs) for (let i = 0; i < s.rows; i++) positions[s.rowStart + i] = s.startPos + i;
    const { cos, sin } = ropeTable(positions, this.freqs, this.ropeAmp);
    const step = b.beginStep({ tokens: input.tokens, seqs: input.seqs, ropeCos: cos, ropeSin: sin }, cache);
    const h = b.fromHost(hidden, T, c.hiddenSize); // [T, hidden]
    for (let l = 0; l < c.numLayers; l++) {
      const layer = this.w.layers[l]!;
      const a = b.rmsNorm(h, layer.inputNorm, c.rmsNormEps);
      const kva = b.rope(this.linear(a, layer.attn.kvA), 1, c.kvLoraRank, c.qkRopeHeadDim, 'interleaved', step); // [T, r+rope]
      let latent = b.rmsNorm(b.narrow(kva, 1, 0, c.kvLoraRank), layer.attn.kvANorm, c.rmsNormEps); // [T, r]
      if (c.indexer) latent = b.fp8RoundTrip(latent);
      b.writeLatentCache(cache, l, latent, b.narrow(kva, 1, c.kvLoraRank, c.qkRopeHeadDim), step);
      const ix = layer.attn.indexer;
      if (ix && c.indexer) {
        const kI = b.rope(b.layerNorm(this.linear(a, ix.wk), ix.kNormWeight, ix.kNormBias, 1e-6), 1, 0, c.qkRopeHeadDim, 'half', step); // [T, 128]
        b.writeIndexCache(cache, l, b.hadamardQuant(kI), step);
      }
    }
  }

  dispose(): void {
    this.backend.dispose();
  }

  private mode(w: Weight): LinearMode {
    if (w.dtype === 'F8_E4M3') return (this.options.fp8Activations ?? 'quant') === 'quant' ? 'fp8-act' : 'plain';
    return this.options.linearActivations === 'ggml' ? 'ggml' : 'plain';
  }

  private linear(x: Tensor, w: Weight): Tensor {
    return this.backend.linear(x, w, this.mode(w), this.scaleFormat);
  }

  private attention(l: number, w: AttentionWeights, a: Tensor, cache: KvCache, step: Step, trace?: ForwardTrace): Tensor {
    const b = this.backend;
    const c = this.config;
    const nH = c.numHeads;
    const nope = c.qkNopeHeadDim;
    const rope = c.qkRopeHeadDim;
    const r = c.kvLoraRank;

    // Queries: q_a -> RMSNorm -> q_b (or q_proj), RoPE on the last `rope` dims of each head (interleaved).
    const qr = w.qA && w.qANorm ? b.rmsNorm(this.linear(a, w.qA), w.qANorm, c.rmsNormEps) : null; // [T, q_lora]
    const q = b.rope(this.linear(qr ?? a, w.qB), nH, nope, rope, 'interleaved', step); // [T, nH*(nope+rope)]

    // Keys: one compressed latent + one shared rotary key per token, written to the cache.
    const kva = b.rope(this.linear(a, w.kvA), 1, r, rope, 'interleaved', step); // [T, r+rope]
    let latent = b.rmsNorm(b.narrow(kva, 1, 0, r), w.kvANorm, c.rmsNormEps); // [T, r]
    if (c.indexer) latent = b.fp8RoundTrip(latent); // V3.2 caches the latent as FP8
    b.writeLatentCache(cache, l, latent, b.narrow(kva, 1, r, rope), step);

    // DSA: the lightning indexer picks the top-k keys of every query.
    let sel = null;
    if (w.indexer && c.indexer && qr) {
      const ix = w.indexer;
      const ic = c.indexer;
      const qI = b.rope(this.linear(qr, ix.wqB), ic.nHeads, 0, rope, 'half', step); // [T, iH*128]
      const kI = b.rope(b.layerNorm(this.linear(a, ix.wk), ix.kNormWeight, ix.kNormBias, 1e-6), 1, 0, rope, 'half', step); // [T, 128]
      b.writeIndexCache(cache, l, b.hadamardQuant(kI), step);
      if (!this.options.denseAttention) {
        const headWeights = b.linear(a, ix.weightsProj, 'plain'); // [T, iH]
        sel = b.indexerTopk(cache, l, b.hadamardQuant(qI), headWeights, ic.nHeads ** -0.5 * ic.headDim ** -0.5, ic.topk, step);
      }
    }
    trace?.indexerTopk?.push(sel);

    const parts: Tensor[] = [];
    const tp = step.prefillRows;
    if (tp > 0) {
      // Naive form: decompress every key of the prefill sequences with kv_b.
      const keys = b.gatherPrefillKeys(cache, l, step);
      const kv = this.linear(keys.latent, w.kvB); // [K, nH*(nope+v)]
      parts.push(b.attentionPrefill(b.rows(q, 0, tp), kv, keys.kpe, sel, this.scale, nope, step)); // [Tp, nH*v]
    }
    const td = step.rows - tp;
    if (td > 0) {
      // Absorbed form: fold kv_b into the query and the output, attend over the cached latents.
      const qd = b.rows(q, tp, td);
      const qLat = b.absorbQuery(b.narrow(qd, nH, 0, nope), w.kvB, nope, c.vHeadDim); // [Td, nH*r]
      const oLat = b.attentionDecode(cache, l, qLat, b.narrow(qd, nH, nope, rope), sel, this.scale, step); // [Td, nH*r]
      parts.push(b.absorbOutput(oLat, w.kvB, nope, c.vHeadDim)); // [Td, nH*v]
    }
    const o = parts.length === 1 ? parts[0]! : b.concatRows(parts);
    return this.linear(o, w.o); // [T, hidden]
  }

  private mlp(w: DenseMlpWeights, x: Tensor): Tensor {
    const b = this.backend;
    return this.linear(b.siluMul(this.linear(x, w.gate), this.linear(x, w.up)), w.down);
  }

  private moe(w: MoeWeights, x: Tensor, trace?: ForwardTrace): Tensor {
    const b = this.backend;
    const routing = b.route(b.linear(x, w.router, 'plain'), w.bias, this.routing);
    trace?.routing?.push(routing);
    const routed = b.moe(x, routing, w.experts, this.mode(w.experts[0]!.gate), this.scaleFormat, w.expertShard ?? undefined); // [T, hidden]
    return w.shared ? b.add(routed, this.mlp(w.shared, x)) : routed;
  }
}

export const DEEPSEEK_ARCHITECTURE: Architecture<DeepseekConfig> = {
  modelTypes: DEEPSEEK_MODEL_TYPES,
  parseConfig: parseDeepseekConfig,
  bindWeights: bindDeepseekWeights,
  requiredOps: (c) => [...MLA_OPS, ...(Array.from({ length: c.numLayers }, (_, l) => isMoeLayer(c, l)).some(Boolean) ? MOE_OPS : [])],
  create: (c, store, backend, options) => new DeepseekModel(c, store, backend, options),
  describe: (c) => describeDeepseek(c),
  gguf: DEEPSEEK_GGUF,
  tensorParallel: DEEPSEEK_TENSOR_PARALLEL,
};
