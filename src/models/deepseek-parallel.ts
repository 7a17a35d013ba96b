// Tensor and expert parallelism for DeepSeek-V2 / V3 / V3.2, split as DeepSeek's reference
// inference code splits it: MLA's query and key/value up-projections (q_proj or q_b_proj, kv_b_proj)
// by heads (rows), o_proj by columns; the low-rank q_a / kv_a projections, their norms, the latent
// cache and the V3.2 lightning indexer replicated (every rank computes the same top-k); dense MLPs
// and shared experts split in width; routed experts split in width too, or with expert
// parallelism held whole, E / N consecutive experts per rank (the router is replicated, so every
// rank routes alike and runs only the pairs routed to its own experts). Each layer's attention
// and MLP / MoE outputs are then partial sums, added up across the ranks. An untied LM head is
// split by vocabulary rows when they divide; embeddings and norms are replicated. FP8 block-scaled
// weights split with their scales on whole 128-blocks (tensor-shards.ts).
import { ModelFormatError } from '../formats/errors.js';
import type { TensorParallelPlan } from './architecture.js';
import { isMoeLayer } from './deepseek-config.js';
import type { DeepseekConfig } from './deepseek-config.js';

export const DEEPSEEK_TENSOR_PARALLEL: TensorParallelPlan<DeepseekConfig> = {
  shardConfig(c, { rank, size, expertParallel }, file) {
    const divide = (key: string, n: number): number => {
      if (n % size !== 0) throw new ModelFormatError(file, `${n} does not split over ${size} tensor-parallel ranks`, { key });
      return n / size;
    };
    const layers = Array.from({ length: c.numLayers }, (_, l) => isMoeLayer(c, l));
    const moe = layers.some(Boolean);
    const ep = moe && expertParallel;
    const perRank = ep ? divide('n_routed_experts', c.nRoutedExperts) : 0;
    return {
      ...c,
      numHeads: divide('num_attention_heads', c.numHeads),
      intermediateSize: layers.some((m) => !m) ? divide('intermediate_size', c.intermediateSize) : c.intermediateSize,
      moeIntermediateSize: moe && !ep ? divide('moe_intermediate_size', c.moeIntermediateSize) : c.moeIntermediateSize,
      ...(moe && c.nSharedExperts > 0 ? { sharedExpertsWidth: divide('n_shared_experts × moe_intermediate_size', c.nSharedExperts * c.moeIntermediateSize) } : {}),
      ...(ep ? { localExperts: { first: rank * perRank, count: perRank } } : {}),
      lmHeadShards: splitsLmHead(c, size) ? size : 1,
    };
  },
  split(name, c, { size, expertParallel }) {
    const weight = name.replace(/_scale_inv$/, ''); // an FP8 weight's scales split with it
    if (weight === 'lm_head.weight') return splitsLmHead(c, size) ? 'rows' : 'replicate';
    if (/\.self_attn\.(q_proj|q_b_proj|kv_b_proj)\.weight$/.test(weight)) return 'rows';
    if (/\.self_attn\.o_proj\.weight$/.test(weight)) return 'cols';
    const routed = /\.mlp\.experts\.\d+\./.test(weight);
    if (routed && expertParallel) return 'replicate'; // whole experts; a rank binds only its own
    if (/\.mlp\.(shared_experts\.|experts\.\d+\.)?(gate|up)_proj\.weight$/.test(weight)) return 'rows';
    if (/\.mlp\.(shared_experts\.|experts\.\d+\.)?down_proj\.weight$/.test(weight)) return 'cols';
    return 'replicate';
  },
};

function splitsLmHead(c: DeepseekConfig, size: number): boolean {
  return !c.tieWordEmbeddings && c.vocabSize % size === 0;
}
