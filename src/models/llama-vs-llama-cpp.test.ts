// The Llama family against llama.cpp (node-llama-cpp's prebuilt CPU binary) on the same weights:
// random tiny F32 checkpoints of each architecture, converted to GGUF the way llama.cpp's own
// converter lays them out, run with an F32 KV cache and flash attention off. Compared as
// log-softmax rows (llama.cpp reports probabilities): prefill rows and teacher-forced decode steps.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Backend } from '../ops/backend.js';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { DeviceBackend } from '../backends/device/device-backend.js';
import { JsDevice } from '../backends/js/js-device.js';
import { createCpuBackend } from '../backends/cpu/cpu-backend.js';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { picker } from '../conformance/random.js';
import { writeLlamaFamilyGguf } from '../../bench/llama-gguf.js';
import { llamaCppLogProbs } from '../../test/helpers/llama-cpp-reference.js';
import { tesseraLogProbs } from '../../test/helpers/log-probs.js';

/** llama.cpp with F32 weights and an F32 KV cache agrees with float64 math to ~1e-5 (log-prob). */
const TOLERANCE = 1e-4;

const BASE = { vocab_size: 160, num_hidden_layers: 2, rms_norm_eps: 1e-6, max_position_embeddings: 2048, bos_token_id: 0, eos_token_id: 1 };
const MODELS: Record<string, Record<string, unknown>> = {
  'llama (GQA 4/2, llama3 RoPE scaling, as R1-Distill-Llama)': { ...BASE, model_type: 'llama', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 96, rope_theta: 500000, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 16 } },
  'qwen2 (GQA 6/2, q/k/v bias, as R1-Distill-Qwen)': { ...BASE, model_type: 'qwen2', hidden_size: 96, num_attention_heads: 6, num_key_value_heads: 2, intermediate_size: 128, rope_theta: 10000 },
  'qwen3 (q/k RMSNorm per head, head_dim 24, tied embeddings, as R1-0528-Qwen3)': { ...BASE, model_type: 'qwen3', hidden_size: 64, num_attention_heads: 4, num_key_value_heads: 2, head_dim: 24, intermediate_size: 96, rope_theta: 1000000, tie_word_embeddings: true },
};

const BACKENDS: Array<[string, () => Backend]> = [
  ['ref', () => new RefBackend()],
  ['js', () => new DeviceBackend('js', new JsDevice())],
  ['cpu', () => createCpuBackend()],
];

for (const [name, config] of Object.entries(MODELS)) {
  test(`${name}: prefill and decode log-probs match llama.cpp within ${TOLERANCE} on ${BACKENDS.map((b) => b[0]).join(', ')}`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-llama-cpp-'));
    try {
      const hf = writeRandomCheckpoint(join(dir, 'hf'), config, { seed: 11, dtype: 'F32' });
      const gguf = join(dir, 'model-f32.gguf');
      await writeLlamaFamilyGguf(hf, gguf, { dtype: 'F32' });
      const { int } = picker(5);
      const prompt = Array.from({ length: 20 }, () => int(2, 159)); // past original_max_position_embeddings
      const decode = Array.from({ length: 4 }, () => int(2, 159));
      const want = await llamaCppLogProbs(gguf, prompt, decode);
      for (const [label, make] of BACKENDS) {
        const got = await tesseraLogProbs(hf, make(), prompt, decode, { kvCacheDtype: 'f32' });
        assert.equal(got.length, want.length);
        let worst = 0;
        got.forEach((row, r) => {
          const w = want[r]!;
          for (let i = 0; i < row.length; i++) if (Number.isFinite(w[i]!)) worst = Math.max(worst, Math.abs(row[i]! - w[i]!));
          const top = (x: Float64Array) => x.indexOf(Math.max(...x));
          assert.equal(top(row), top(w), `${label}: greedy token of row ${r}`);
        });
        assert.ok(worst <= TOLERANCE, `${label}: max |Δ log-prob| ${worst}`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
