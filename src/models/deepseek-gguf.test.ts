// DeepSeek GGUF files (llama.cpp's deepseek2 / deepseek32 architectures) against llama.cpp on the
// same file (node-llama-cpp's prebuilt CPU binary, F32 K/V, flash attention off): random tiny
// checkpoints written by the repository as the converter writes them — kv_b split into
// attn_k_b / attn_v_b (current files) or as one attn_kv_b (older files) — in F32 and in block
// types, opened from the GGUF file. Compared as log-softmax rows over a prefill and teacher-forced
// decode steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../ops/backend.js';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { picker } from '../conformance/random.js';
import { writeDeepseekGguf } from '../../bench/deepseek-gguf.js';
import type { GgufOutType } from '../../bench/gguf-quant.js';
import { llamaCppLogProbs } from '../../test/helpers/llama-cpp-reference.js';
import { compareRows, tesseraLogProbs } from '../../test/helpers/log-probs.js';
import { everyBackend } from '../../test/helpers/every-backend.js';
import type { DeepseekConfig } from './deepseek-config.js';
import { openModel } from './open-model.js';

/**
 * Max |Δ log-prob| against llama.cpp per file type. F32: float32 summation order only. Block
 * types: llama.cpp runs the split form absorbed (q_nope times attn_k_b, the attention output times
 * attn_v_b), converting those activations to the weights' vec_dot type (Q8_0 / Q8_K) like every
 * product, and Tessera computes the same products in float32 with the reassembled kv_b (F32: the
 * transposed attn_k_b rows are not whole blocks); a legacy attn_kv_b in blocks is widened to F32
 * for the same reason. That alone moves every row by ~5e-2 (measured 4–9e-2; with kv_b kept F32
 * in the file the rows agree to ~1e-6 until a rounding-boundary flip, as for the Llama family);
 * flips carried by attention, and the expert choices they tip, add more. The bound is well under
 * a wrong layout or mapping (O(1) on every row).
 */
const TOLERANCE: Readonly<Partial<Record<GgufOutType, number>>> = { F32: 1e-4, Q8_0: 0.3, Q4_K: 0.3, Q6_K: 0.3, Q4_K_M: 0.3 };

// widths of whole K-quant blocks where the converter's rows allow (attn_k_b rows are nope wide and fall back)
const BASE = {
  vocab_size: 160, hidden_size: 256, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 4,
  q_lora_rank: 256, kv_lora_rank: 256, qk_nope_head_dim: 32, qk_rope_head_dim: 16, v_head_dim: 32,
  intermediate_size: 256, moe_intermediate_size: 256, n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2,
  first_k_dense_replace: 1, moe_layer_freq: 1, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 4096,
  bos_token_id: 0, eos_token_id: 1, tie_word_embeddings: false,
};
const YARN = { type: 'yarn', factor: 4, original_max_position_embeddings: 16, beta_fast: 32, beta_slow: 1 };
const MODELS: Record<string, Record<string, unknown>> = {
  // V3 / R1: sigmoid routing with a correction bias, 2 groups of 2 ranked by their top-2, YaRN
  v3: { ...BASE, model_type: 'deepseek_v3', n_group: 2, topk_group: 1, scoring_func: 'sigmoid', topk_method: 'noaux_tc', norm_topk_prob: true, routed_scaling_factor: 2.5, rope_scaling: { ...YARN, mscale: 1, mscale_all_dim: 1 } },
  // V2-Lite: no q LoRA (written as q_lora_rank 0), softmax greedy routing, YaRN mscale 0.707
  v2lite: { ...BASE, model_type: 'deepseek_v2', q_lora_rank: null, n_group: 1, topk_group: 1, scoring_func: 'softmax', topk_method: 'greedy', norm_topk_prob: false, routed_scaling_factor: 1, rope_scaling: { ...YARN, mscale: 0.707, mscale_all_dim: 0.707 } },
};

// V3.2: the indexer's top-k (64) covers the whole context, so llama.cpp's DSA mask opens every key
MODELS['v32'] = { ...MODELS['v3']!, model_type: 'deepseek_v32', index_n_heads: 4, index_head_dim: 128, index_topk: 64 };

const BACKENDS = await everyBackend('DeepSeek GGUF against llama.cpp');
/** The js device interprets kernels (slow): it runs the F32 files, where every mapping shows. */
const runs = (type: GgufOutType): Array<[string, () => Backend]> => BACKENDS.filter(([label]) => type === 'F32' || label !== 'js');

const { int } = picker(9);
const PROMPT = Array.from({ length: 20 }, () => int(2, 159)); // past original_max_position_embeddings
const DECODE = Array.from({ length: 3 }, () => int(2, 159));

const cases: Array<[string, 'split' | 'legacy', readonly GgufOutType[]]> = [
  ['v3', 'split', ['F32', 'Q8_0', 'Q4_K', 'Q6_K', 'Q4_K_M']],
  ['v3', 'legacy', ['F32', 'Q8_0']],
  ['v2lite', 'split', ['F32', 'Q8_0']],
];

for (const [model, kvB, types] of cases) {
  test(`${model} GGUF (${kvB} kv_b) in ${types.join(', ')}: log-probs match llama.cpp`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `tessera-ds-gguf-${model}-`));
    try {
      const hf = writeRandomCheckpoint(join(dir, 'hf'), MODELS[model]!, { seed: 23, dtype: 'F32' });
      const report: string[] = [];
      for (const type of types) {
        const gguf = join(dir, `model-${type}.gguf`);
        await writeDeepseekGguf(hf, gguf, { dtype: type, kvB });
        const want = await llamaCppLogProbs(gguf, PROMPT, DECODE);
        const tol = TOLERANCE[type]!;
        const line: string[] = [];
        for (const [label, make] of runs(type)) {
          const r = compareRows(await tesseraLogProbs(gguf, make(), PROMPT, DECODE, { kvCacheDtype: 'f32' }), want, 2 * tol);
          line.push(`${label} ${r.worst.toExponential(1)}`);
          assert.ok(r.worst <= tol, `${type} on ${label}: max |Δ log-prob| ${r.worst} > ${tol}`);
          assert.deepEqual(r.greedyMismatches, [], `${type} on ${label}: greedy tokens differ at rows with a clear margin`);
        }
        report.push(`${type}: ${line.join(', ')}`);
        rmSync(gguf);
      }
      console.log(`${model} ${kvB}\n${report.join('\n')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/**
 * deepseek32 loads in llama.cpp 3.21.1's binary, which runs DSA in float: no e4m3 round trip of the
 * cached latent, no e4m3 indexer keys. Tessera caches V3.2's latent as FP8 (DeepSeek's semantics),
 * which moves F32 rows by 3–8e-2 (measured; with the FP8 emulation off they agree to ~1e-6).
 */
test('v32 GGUF (deepseek32, indexer top-k over the whole context) in F32: log-probs near llama.cpp', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ds-gguf-v32-'));
  try {
    const hf = writeRandomCheckpoint(join(dir, 'hf'), MODELS['v32']!, { seed: 23, dtype: 'F32' });
    const gguf = join(dir, 'model.gguf');
    await writeDeepseekGguf(hf, gguf, { dtype: 'F32' });
    const want = await llamaCppLogProbs(gguf, PROMPT, DECODE);
    const line: string[] = [];
    for (const [label, make] of BACKENDS.filter(([l]) => l === 'ref' || l === 'cpu')) {
      const r = compareRows(await tesseraLogProbs(gguf, make(), PROMPT, DECODE, { kvCacheDtype: 'f32' }), want, 0.3);
      line.push(`${label} ${r.worst.toExponential(1)}`);
      assert.ok(r.worst <= 0.15, `deepseek32 on ${label}: max |Δ log-prob| ${r.worst} > 0.15`);
      assert.deepEqual(r.greedyMismatches, []);
    }
    console.log(`v32 F32: ${line.join(', ')}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DeepSeek GGUF metadata: llama.cpp semantics of the routing and YaRN keys', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ds-gguf-meta-'));
  try {
    const hf = writeRandomCheckpoint(join(dir, 'hf'), MODELS['v2lite']!, { seed: 1, dtype: 'F32' });
    await writeDeepseekGguf(hf, join(dir, 'm.gguf'), { dtype: 'F32' });
    const m = openModel(join(dir, 'm.gguf'));
    try {
      const c = m.architecture.config as DeepseekConfig;
      assert.equal(c.qLoraRank, null);
      assert.equal(c.topkMethod, 'greedy');
      assert.equal(c.scoringFunc, 'softmax');
      assert.ok(Math.abs(c.yarn!.mscale - 0.707) < 1e-6 && Math.abs(c.yarn!.mscaleAllDim - 0.707) < 1e-6, JSON.stringify(c.yarn));
      m.architecture.check(m.tensors);
    } finally {
      m.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
