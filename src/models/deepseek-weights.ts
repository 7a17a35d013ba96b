// The tensors of a DeepSeek-V2/V3/V3.2 checkpoint, checked against config.json as they are bound.
import type { ExpertShard, ExpertWeights, Weight } from '../ops/tensors.js';
import type { WeightBinder } from './weight-binder.js';
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
  /** the routed experts this rank holds (all of them in one process) */
  readonly experts: readonly ExpertWeights[];
  /** expert parallelism: which of the layer's experts `experts` are; null: all */
  readonly expertShard: ExpertShard | null;
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

function mlp(b: WeightBinder, prefix: string, hidden: number, inner: number): DenseMlpWeights {
  return {
    gate: b.weight(`${prefix}.gate_proj.weight`, [inner, hidden], 'linear'),
    up: b.weight(`${prefix}.up_proj.weight`, [inner, hidden], 'linear'),
    down: b.weight(`${prefix}.down_proj.weight`, [hidden, inner], 'out'),
  };
}

export function bindDeepseekWeights(c: DeepseekConfig, b: WeightBinder): DeepseekWeights {
  const H = c.hiddenSize;
  const qkd = c.qkNopeHeadDim + c.qkRopeHeadDim;
  const layers: LayerWeights[] = [];
  const local = c.localExperts ?? { first: 0, count: c.nRoutedExperts };
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const qA = c.qLoraRank !== null ? b.weight(`${a}.q_a_proj.weight`, [c.qLoraRank, H], 'linear') : null;
    const attn: AttentionWeights = {
      qA,
      qANorm: c.qLoraRank !== null ? b.weight(`${a}.q_a_layernorm.weight`, [c.qLoraRank], 'norm') : null,
      qB: c.qLoraRank !== null ? b.weight(`${a}.q_b_proj.weight`, [c.numHeads * qkd, c.qLoraRank], 'linear') : b.weight(`${a}.q_proj.weight`, [c.numHeads * qkd, H], 'linear'),
      kvA: b.weight(`${a}.kv_a_proj_with_mqa.weight`, [c.kvLoraRank + c.qkRopeHeadDim, H], 'linear'),
      kvANorm: b.weight(`${a}.kv_a_layernorm.weight`, [c.kvLoraRank], 'norm'),
      kvB: b.weight(`${a}.kv_b_proj.weight`, [c.numHeads * (c.qkNopeHeadDim + c.vHeadDim), c.kvLoraRank], 'linear'),
      o: b.weight(`${a}.o_proj.weight`, [H, c.numHeads * c.vHeadDim], 'out'),
      indexer: c.indexer
        ? {
            wqB: b.weight(`${a}.indexer.wq_b.weight`, [c.indexer.nHeads * c.indexer.headDim, c.qLoraRank!], 'linear'),
            wk: b.weight(`${a}.indexer.wk.weight`, [c.indexer.headDim, H], 'linear'),
            kNormWeight: b.weight(`${a}.indexer.k_norm.weight`, [c.indexer.headDim], 'norm'),
            kNormBias: b.weight(`${a}.indexer.k_norm.bias`, [c.indexer.headDim], 'bias'),
            weightsProj: b.weight(`${a}.indexer.weights_proj.weight`, [c.indexer.nHeads, H], 'dense'),
          }
        : null,
    };
    const m = `${p}.mlp`;
    const ffn: DenseMlpWeights | MoeWeights = isMoeLayer(c, l)
      ? {
          router: b.weight(`${m}.gate.weight`, [c.nRoutedExperts, H], 'dense'),
          bias: c.topkMethod === 'noaux_tc' ? b.weight(`${m}.gate.e_score_correction_bias`, [c.nRoutedExperts], 'router-bias') : b.optional(`${m}.gate.e_score_correction_bias`, [c.nRoutedExperts], 'router-bias'),
          experts: Array.from({ length: local.count }, (_, i) => mlp(b, `${m}.experts.${local.first + i}`, H, c.moeIntermediateSize)),
          expertShard: c.localExperts ? { first: local.first, total: c.nRoutedExperts } : null,
          shared: c.nSharedExperts > 0 ? mlp(b, `${m}.shared_experts`, H, c.sharedExpertsWidth ?? c.nSharedExperts * c.moeIntermediateSize) : null,
        }
      : mlp(b, m, H, c.intermediateSize);
    layers.push({
      inputNorm: b.weight(`${p}.input_layernorm.weight`, [H], 'norm'),
      postNorm: b.weight(`${p}.post_attention_layernorm.weight`, [H], 'norm'),
      attn,
      mlp: ffn,
    });
  }
  const embed = b.weight('model.embed_tokens.weight', [c.vocabSize, H], 'embedding');
  return {
    embed,
    layers,
    norm: b.weight('model.norm.weight', [H], 'norm'),
    lmHead: c.tieWordEmbeddings ? embed : b.weight('lm_head.weight', [c.vocabSize / (c.lmHeadShards ?? 1), H], 'lm-head'),
  };
}
