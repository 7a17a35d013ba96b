// The tensors of a Llama / Qwen2 / Qwen3 checkpoint (Hugging Face names), checked against
// config.json as they are bound.
import type { Weight } from '../ops/tensors.js';
import type { LlamaConfig } from './llama-config.js';
import type { WeightBinder } from './weight-binder.js';

export interface LlamaLayerWeights {
  readonly inputNorm: Weight;
  readonly postNorm: Weight;
  readonly q: Weight;
  readonly k: Weight;
  readonly v: Weight;
  readonly o: Weight;
  readonly qBias: Weight | null;
  readonly kBias: Weight | null;
  readonly vBias: Weight | null;
  readonly oBias: Weight | null;
  /** Qwen3: per-head RMSNorm gains [headDim] */
  readonly qNorm: Weight | null;
  readonly kNorm: Weight | null;
  readonly gate: Weight;
  readonly up: Weight;
  readonly down: Weight;
  readonly gateBias: Weight | null;
  readonly upBias: Weight | null;
  readonly downBias: Weight | null;
}

export interface LlamaWeights {
  readonly embed: Weight;
  readonly layers: readonly LlamaLayerWeights[];
  readonly norm: Weight;
  readonly lmHead: Weight;
}

export function bindLlamaWeights(c: LlamaConfig, b: WeightBinder): LlamaWeights {
  const H = c.hiddenSize;
  const qDim = c.numHeads * c.headDim;
  const kvDim = c.numKvHeads * c.headDim;
  const I = c.intermediateSize;
  const bias = (on: boolean, name: string, n: number) => (on ? b.weight(name, [n], 'bias') : null);
  const layers: LlamaLayerWeights[] = [];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}`;
    const a = `${p}.self_attn`;
    const m = `${p}.mlp`;
    layers.push({
      inputNorm: b.weight(`${p}.input_layernorm.weight`, [H], 'norm'),
      postNorm: b.weight(`${p}.post_attention_layernorm.weight`, [H], 'norm'),
      q: b.weight(`${a}.q_proj.weight`, [qDim, H], 'linear'),
      k: b.weight(`${a}.k_proj.weight`, [kvDim, H], 'linear'),
      v: b.weight(`${a}.v_proj.weight`, [kvDim, H], 'linear'),
      o: b.weight(`${a}.o_proj.weight`, [H, qDim], 'out'),
      qBias: bias(c.qkvBias, `${a}.q_proj.bias`, qDim),
      kBias: bias(c.qkvBias, `${a}.k_proj.bias`, kvDim),
      vBias: bias(c.qkvBias, `${a}.v_proj.bias`, kvDim),
      oBias: bias(c.oBias, `${a}.o_proj.bias`, H),
      qNorm: c.qkNorm ? b.weight(`${a}.q_norm.weight`, [c.headDim], 'norm') : null,
      kNorm: c.qkNorm ? b.weight(`${a}.k_norm.weight`, [c.headDim], 'norm') : null,
      gate: b.weight(`${m}.gate_proj.weight`, [I, H], 'linear'),
      up: b.weight(`${m}.up_proj.weight`, [I, H], 'linear'),
      down: b.weight(`${m}.down_proj.weight`, [H, I], 'out'),
      gateBias: bias(c.mlpBias, `${m}.gate_proj.bias`, I),
      upBias: bias(c.mlpBias, `${m}.up_proj.bias`, I),
      downBias: bias(c.mlpBias, `${m}.down_proj.bias`, H),
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
