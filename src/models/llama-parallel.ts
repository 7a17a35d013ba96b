// Tensor parallelism for the Llama family (Megatron's split): each rank holds a 1/N share of the
// query and K/V heads and of the MLP width. q/k/v and gate/up are split by rows (their outputs are
// whole heads / MLP columns), o_proj and down_proj by columns (each rank's partial sum over its own
// heads / columns, summed across ranks after the product); their biases are added once (rank 0).
// An untied LM head is split by vocabulary rows when they divide (each rank's logits gathered);
// norms (per-head q/k norms included) and embeddings are replicated.
import { ModelFormatError } from '../formats/errors.js';
import type { TensorParallelPlan } from './architecture.js';
import type { LlamaConfig } from './llama-config.js';

export const LLAMA_TENSOR_PARALLEL: TensorParallelPlan<LlamaConfig> = {
  shardConfig(c, { size }, file) {
    const divide = (key: string, n: number): number => {
      if (n % size !== 0) throw new ModelFormatError(file, `${n} does not split over ${size} tensor-parallel ranks`, { key });
      return n / size;
    };
    return {
      ...c,
      numHeads: divide('num_attention_heads', c.numHeads),
      numKvHeads: divide('num_key_value_heads', c.numKvHeads),
      intermediateSize: divide('intermediate_size', c.intermediateSize),
      lmHeadShards: splitsLmHead(c, size) ? size : 1,
    };
  },
  split(hfName, c, { size }) {
    const name = hfName.replace(/_scale_inv$/, ''); // an FP8 weight's scales split with it
    if (name === 'lm_head.weight') return splitsLmHead(c, size) ? 'rows' : 'replicate';
    if (/\.(q|k|v)_proj\.(weight|bias)$|\.(gate|up)_proj\.(weight|bias)$/.test(name)) return 'rows';
    if (/\.(o|down)_proj\.weight$/.test(name)) return 'cols';
    if (/\.(o|down)_proj\.bias$/.test(name)) return 'first-rank';
    return 'replicate';
  },
};

function splitsLmHead(c: LlamaConfig, size: number): boolean {
  return !c.tieWordEmbeddings && c.vocabSize % size === 0;
}
