// The tensors of a DeepSeek-V2/V3/V3.2 checkpoint, checked against config.json as they are bound.
import type { Backend, ExpertWeights, Weight } from '../backends/backend.js';
import { ModelFormatError } from '../formats/errors.js';
import type { TensorStore } from '../formats/tensor-store.js';
import { isMoeLayer } from './deepseek-config.js';
import type { DeepseekConfig } from './deepseek-config.js';

export interface DenseMlpWeights {
  readonly gate: Weight;
  readonly up: Weight;
  readonly down: Weight;
}

export interface MoeWeights {
  /** router [n_routed_experts, hidden] */
  readonly router: Weight;
  /** e_score_correction_bias [n_routed_experts] (noaux_tc) */
  readonly bias: Weight | null;
  readonly experts: readonly ExpertWeights[];
  readonly shared: DenseMlpWeights | null;
}

export interface IndexerWeights {
  readonly wqB: Weight;
  readonly wk: Weight;
  readonly kNormWeight: Weight;
  readonly kNormBias: Weight;
  readonly weightsProj: Weight;
}

export interface AttentionWeights {
  /** q_a_proj, q_a_layernorm, q_b_proj (q_lora_rank set) or q_proj alone */
  readonly qA: Weight | null;
  readonly qANorm: Weight | null;
  readonly qB: Weight;
  readonly kvA: Weight;
  readonly kvANorm: Weight;
  readonly kvB: Weight;
  readonly o: Weight;
  readonly indexer: IndexerWeights | null;
}

export interface LayerWeights {
  readonly inputNorm: Weight;
  readonly postNorm: Weight;
  readonly attn: AttentionWeights;
  readonly mlp: DenseMlpWeights | MoeWeights;
}

export interface DeepseekWeights {
  readonly embed: Weight;
  readonly layers: readonly LayerWeights[];
  readonly norm: Weight;
  readonly lmHead: Weight;
}

export function isMoe(m: DenseMlpWeights | MoeWeights): m is MoeWeights {
  return 'router' in m;
}

class Binder {
  constructor(
    private readonly store: TensorStore,
    private readonly backend: Backend,
  ) {}

  /** Bind a tensor, checking its shape; FP8 matrices also bind their weight_scale_inv. */
  weight(name: string, shape: readonly number[]): Weight {
    const info = this.store.info(name);
    if (info.shape.length !== shape.length || info.shape.some((d, i) => d !== shape[i])) {
      throw new ModelFormatError(info.file, `shape [${info.shape.join(', ')}] disagrees with config.json, which implies [${shape.join(', ')}]`, { tensor: name });
    }
    let scale = null;
    if (info.dtype === 'F8_E4M3') {
      const scaleName = `${name}_scale_inv`;
      if (!this.store.has(scaleName)) throw new ModelFormatError(info.file, `FP8 weight without its ${scaleName}`, { tensor: name });
      scale = this.store.info(scaleName);
      const want = shape.map((d) => Math.ceil(d / 128));
      if (scale.shape.length !== want.length || scale.shape.some((d, i) => d !== want[i])) {
        throw new ModelFormatError(scale.file, `shape [${scale.shape.join(', ')}] should be [${want.join(', ')}] (128x128 blocks)`, { tensor: scaleName });
      }
      if (scale.dtype !== 'F32' && scale.dtype !== 'BF16') throw new ModelFormatError(scale.file, `dtype ${scale.dtype} is not a scale dtype`, { tensor: scaleName });
    }
    return this.backend.loadWeight({ store: this.store, tensor: info, scale });
  }

  optional(name: string, shape: readonly number[]): Weight | null {
    return this.store.has(name) ? this.weight(name, shape) : null;
  }
}

function mlp(b: Binder, prefix: string, hidden: number, inner: number): DenseMlpWeights {
  return {
    gate: b.weight(`${prefix}.gate_proj.weight`, [inner, hidden]),
    up: b.weight(`${prefix}.up_proj.weight`, [inner, hidden]),
    down: b.weight(`${prefix}.down_proj.weight`, [hidden, inner]),
  };
}

export function bindDeepseekWeights(c: DeepseekConfig, store: TensorStore, backend: Backend): DeepseekWeights {
  const b = new Binder(store, backend);
  const H = c.hiddenSize;
  const qkd = c.qkNopeHeadDim + c.qkRopeHeadDim;
  const layers: LayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const qA = c.qLoraRank !== null ? b.weight(`${a}.q_a_proj.weight`, [c.qLoraRank, H]) : null;
    const attn: AttentionWeights = {
      qA,
      qANorm: c.qLoraRank !== null ? b.weight(`${a}.q_a_layernorm.weight`, [c.qLoraRank]) : null,
      qB: c.qLoraRank !== null ? b.weight(`${a}.q_b_proj.weight`, [c.numHeads * qkd, c.qLoraRank]) : b.weight(`${a}.q_proj.weight`, [c.numHeads * qkd, H]),
      kvA: b.weight(`${a}.kv_a_proj_with_mqa.weight`, [c.kvLoraRank + c.qkRopeHeadDim, H]),
      kvANorm: b.weight(`${a}.kv_a_layernorm.weight`, [c.kvLoraRank]),
      kvB: b.weight(`${a}.kv_b_proj.weight`, [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank]),
      o: b.weight(`${a}.o_proj.weight`, [H, c.numHeads * c.vHeadDim]),
      indexer: c.indexer
        ? {
            wqB: b.weight(`${a}.indexer.wq_b.weight`, [c.indexer.nHeads * c.indexer.headDim, c.qLoraRank!]),
            wk: b.weight(`${a}.indexer.wk.weight`, [c.indexer.headDim, H]),
            kNormWeight: b.weight(`${a}.indexer.k_norm.weight`, [c.indexer.headDim]),
            kNormBias: b.weight(`${a}.indexer.k_norm.bias`, [c.indexer.headDim]),
            weightsProj: b.weight(`${a}.indexer.weights_proj.weight`, [c.indexer.nHeads, H]),
          }
        : null,
    };
    const m = `${p}.mlp`;
    const ffn: DenseMlpWeights | MoeWeights = isMoeLayer(c, l)
      ? {
          router: b.weight(`${m}.gate.weight`, [c.nRoutedExperts, H]),
          bias: c.topkMethod === 'noaux_tc' ? b.weight(`${m}.gate.e_score_correction_bias`, [c.nRoutedExperts]) : b.optional(`${m}.gate.e_score_correction_bias`, [c.nRoutedExperts]),
          experts: Array.from({ length: c.nRoutedExperts }, (_, e) => mlp(b, `${m}.experts.${e}`, H, c.moeIntermediateSize)),
          shared: c.nSharedExperts > 0 ? mlp(b, `${m}.shared_experts`, H, c.nSharedExperts * c.moeIntermediateSize) : null,
        }
      : mlp(b, m, H, c.intermediateSize);
    layers.push({
      inputNorm: b.weight(`${p}.input_layernorm.weight`, [H]),
      postNorm: b.weight(`${p}.post_attention_layernorm.weight`, [H]),
      attn,
      mlp: ffn,
    });
  }
  const embed = b.weight('model.embed_tokens.weight', [c.vocabSize, H]);
  return {
    embed,
    layers,
    norm: b.weight('model.norm.weight', [H]),
    lmHead: c.tieWordEmbeddings ? embed : b.weight('lm_head.weight', [c.vocabSize, H]),
  };
}
