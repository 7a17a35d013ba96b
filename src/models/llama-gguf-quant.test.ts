// GGUF files of the Llama family in every type Tessera reads, against llama.cpp on the same file
// (node-llama-cpp's prebuilt CPU binary, F32 K/V, flash attention off). Random tiny checkpoints
// of each architecture, written by the repository as GGUF — every matrix in one type (as
// `llama-quantize --pure` writes them), and llama-quantize's Q4_K_M mix — and opened from the
// GGUF file, which runs the linear products with llama.cpp's activation conversion ('ggml' mode:
// input rows quantized to Q8_0 / Q8_1 / Q8_K, or rounded to F16 / BF16). Compared as log-softmax
// rows over a prefill and teacher-forced decode steps; greedy tokens equal where llama.cpp's
// top-2 margin is clear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { picker } from '../conformance/random.js';
import { writeLlamaFamilyGguf } from '../../bench/llama-gguf.js';
import { GGUF_OUT_TYPES } from '../../bench/gguf-quant.js';
import type { GgufOutType } from '../../bench/gguf-quant.js';
import { llamaCppLogProbs } from '../../test/helpers/llama-cpp-reference.js';
import { compareRows, tesseraLogProbs } from '../../test/helpers/log-probs.js';
import { everyBackend } from '../../test/helpers/every-backend.js';

/**
 * Max |Δ log-prob| against llama.cpp per file type. Both sides convert the same activations the
 * same way (the single-product check in ref-ggml-llama-cpp.test.ts holds each type to 2e-5), so
 * most rows agree to ~1e-6 — float32 summation order. But a sum that differs in its last bit can
 * land on the other side of a rounding boundary of the activation conversion (one Q8 step, or one
 * f16 / bf16 ulp), and these tiny random networks carry such a flip into every later position
 * through attention: measured here up to 1.6e-2 (F16 / BF16) and 0.15 (block types), against
 * O(1) for a wrong layout, dequantization or tensor mapping. The greedy check uses a margin
 * above the tolerance.
 */
const TOLERANCE: Readonly<Record<GgufOutType, number>> = {
  F32: 1e-4, F16: 3e-2, BF16: 3e-2,
  Q8_0: 0.25, Q4_0: 0.25, Q4_1: 0.25, Q5_0: 0.25, Q5_1: 0.25,
  Q2_K: 0.25, Q3_K: 0.25, Q4_K: 0.25, Q5_K: 0.25, Q6_K: 0.25, Q4_K_M: 0.25,
};

// hidden and intermediate sizes are whole K-quant blocks (256), so no tensor falls back
const BASE = { vocab_size: 160, num_hidden_layers: 2, rms_norm_eps: 1e-6, max_position_embeddings: 2048, bos_token_id: 0, eos_token_id: 1, hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, num_key_value_heads: 2 };
const MODELS: Record<string, Record<string, unknown>> = {
  llama: { ...BASE, model_type: 'llama', rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  qwen2: { ...BASE, model_type: 'qwen2', rope_theta: 10000 },
  qwen3: { ...BASE, model_type: 'qwen3', head_dim: 64, rope_theta: 1000000, tie_word_embeddings: true },
};

const BACKENDS = await everyBackend('GGUF quant types against llama.cpp');

for (const [arch, config] of Object.entries(MODELS)) {
  test(`${arch} GGUF in ${GGUF_OUT_TYPES.join(', ')}: log-probs match llama.cpp on ${BACKENDS.map((b) => b[0]).join(', ')}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), `tessera-gguf-${arch}-`));
    try {
      const hf = writeRandomCheckpoint(join(dir, 'hf'), config, { seed: 23, dtype: 'F32' });
      const { int } = picker(9);
      const prompt = Array.from({ length: 20 }, () => int(2, 159)); // past original_max_position_embeddings
      const decode = Array.from({ length: 3 }, () => int(2, 159));
      const report: string[] = [];
      for (const type of GGUF_OUT_TYPES) {
        const gguf = join(dir, `model-${type}.gguf`);
        await writeLlamaFamilyGguf(hf, gguf, { dtype: type });
        const want = await llamaCppLogProbs(gguf, prompt, decode);
        const line: string[] = [];
        for (const [label, make] of BACKENDS) {
          const r = compareRows(await tesseraLogProbs(gguf, make(), prompt, decode, { kvCacheDtype: 'f32' }), want, 2 * TOLERANCE[type]);
          line.push(`${label} ${r.worst.toExponential(1)}`);
          assert.ok(r.worst <= TOLERANCE[type], `${type} on ${label}: max |Δ log-prob| ${r.worst} > ${TOLERANCE[type]}`);
          assert.deepEqual(r.greedyMismatches, [], `${type} on ${label}: greedy tokens differ at rows with a clear margin`);
          assert.ok(r.clearRows >= 4, `${type}: only ${r.clearRows} of ${want.length} rows have a clear margin`);
        }
        report.push(`${type}: ${line.join(', ')}`);
        rmSync(gguf);
      }
      console.log(`${arch}\n${report.join('\n')}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
