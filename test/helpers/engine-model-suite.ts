// LLMEngine on real models (the v32-tiny-bf16 fixture, random tiny DeepSeek V2/V3/V3.2 and
// Llama / Qwen2 / Qwen3 checkpoints), on any backend. The oracle is SingleSequence on the same backend: one whole-prompt
// prefill, then one decode per token, argmax. With greedy sampling the engine must reproduce it
// bit for bit however it batches, chunks, preempts or reuses cached prefixes.
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../../src/conformance/random-checkpoint.js';
import type { Backend } from '../../src/ops/backend.js';
import { openModel } from '../../src/models/open-model.js';
import { loadModel } from '../../src/models/registry.js';
import type { CausalLM } from '../../src/models/model.js';
import { LLMEngine } from '../../src/engine/llm-engine.js';
import type { EngineOptions } from '../../src/engine/engine-config.js';
import type { GenerateRequest } from '../../src/engine/engine-request.js';
import { normalizeSamplingParams } from '../../src/engine/sampler.js';
import { SingleSequence, argmax } from '../../src/engine/single-sequence.js';
import { writeTinyModel } from './tiny-models.js';
import type { TinyKind } from './tiny-models.js';

const FIXTURE = join(process.cwd(), 'test/fixtures/deepseek/v32-tiny-bf16');

/** Grouped-query attention models of the R1 distills' architectures, with what sets each apart. */
const GQA_CONFIGS: Record<string, Record<string, unknown>> = {
  llama: { model_type: 'llama', vocab_size: 128, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 96, rms_norm_eps: 1e-5, rope_theta: 500000, max_position_embeddings: 1024, rope_scaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 32 }, bos_token_id: 0, eos_token_id: 1 },
  qwen2: { model_type: 'qwen2', vocab_size: 128, hidden_size: 96, num_hidden_layers: 2, num_attention_heads: 6, num_key_value_heads: 2, intermediate_size: 128, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 1024, tie_word_embeddings: true, bos_token_id: 0, eos_token_id: 1 },
  qwen3: { model_type: 'qwen3', vocab_size: 128, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 1, head_dim: 32, intermediate_size: 96, rms_norm_eps: 1e-6, rope_theta: 1000000, max_position_embeddings: 1024, bos_token_id: 0, eos_token_id: 1 },
};
const GREEDY = normalizeSamplingParams({ temperature: 0 });

/** Deterministic prompt ids in [2, vocab) so the fixture's BOS/EOS (0, 1) never appear by chance. */
export function enginePrompt(seed: number, len: number, vocab: number): number[] {
  return Array.from({ length: len }, (_, k) => 2 + ((seed * 131 + k * 17 + 3) % (vocab - 2)));
}

/** Greedy tokens of one request through SingleSequence (no engine code involved). */
export async function oracleGreedy(model: CausalLM, promptIds: readonly number[], maxTokens: number): Promise<number[]> {
  const V = model.info.vocabSize;
  const s = new SingleSequence(model, { maxTokens: promptIds.length + maxTokens, blockSize: 16 });
  const logits = await s.prefill(promptIds);
  let tok = argmax(logits.subarray((promptIds.length - 1) * V));
  const out = [tok];
  while (out.length < maxTokens) {
    tok = argmax(await s.decode(tok));
    out.push(tok);
  }
  return out;
}

function greedy(promptIds: readonly number[], maxTokens: number): GenerateRequest {
  return { promptIds, sampling: GREEDY, maxTokens, ignoreEos: true };
}

async function withEngine<T>(model: CausalLM, options: EngineOptions, fn: (e: LLMEngine) => Promise<T>): Promise<T> {
  const e = new LLMEngine(model, options);
  try {
    const out = await fn(e);
    const st = e.stats();
    assert.equal(st.kvCacheUsage, 0, 'every block is free once all requests ended');
    assert.equal(st.running + st.waiting, 0);
    return out;
  } finally {
    await e.close();
  }
}

/** Registers the engine-on-real-models tests for one backend (`makeBackend` builds a fresh one). */
export function runEngineModelSuite(backendName: string, makeBackend: () => Backend, skip: string | false = false): void {
  describe(`LLMEngine on real models (${backendName})`, { skip }, () => {
    let fixture: CausalLM | null = null;
    const oracle = new Map<string, number[]>();
    const model = (): CausalLM => (fixture ??= loadModel(openModel(FIXTURE), makeBackend(), { fp8Activations: 'quant' }));
    const expected = async (promptIds: readonly number[], maxTokens: number): Promise<number[]> => {
      const key = `${promptIds.join(',')}/${maxTokens}`;
      let v = oracle.get(key);
      if (!v) oracle.set(key, (v = await oracleGreedy(model(), promptIds, maxTokens)));
      return v;
    };
    after(() => fixture?.dispose());

    it('16 concurrent greedy requests produce exactly their solo tokens (v32 fixture, chunked prefill)', async () => {
      const V = model().info.vocabSize;
      const reqs = Array.from({ length: 16 }, (_, i) => greedy(enginePrompt(i, 5 + ((i * 7) % 30), V), 6 + (i % 4)));
      const want: number[][] = [];
      for (const r of reqs) want.push(await expected(r.promptIds, r.maxTokens!));
      await withEngine(model(), { numBlocks: 64, blockSize: 16, maxNumBatchedTokens: 48 }, async (e) => {
        const got = await Promise.all(reqs.map((r) => e.generate(r)));
        got.forEach((g, i) => assert.deepEqual(g.tokenIds, want[i], `request ${i}`));
        assert.ok(e.stats().stepsTotal < reqs.reduce((n, r) => n + r.maxTokens!, 0), 'requests shared steps');
      });
    });

    it('a KV cache too small for the load preempts and still reproduces every request', async () => {
      const V = model().info.vocabSize;
      const reqs = Array.from({ length: 8 }, (_, i) => greedy(enginePrompt(100 + i, 10 + ((i * 5) % 12), V), 10));
      const want: number[][] = [];
      for (const r of reqs) want.push(await expected(r.promptIds, r.maxTokens!));
      for (const enablePrefixCaching of [true, false]) {
        await withEngine(model(), { numBlocks: 10, blockSize: 8, maxNumSeqs: 8, maxNumBatchedTokens: 32, enablePrefixCaching }, async (e) => {
          const got = await Promise.all(reqs.map((r) => e.generate(r)));
          got.forEach((g, i) => assert.deepEqual(g.tokenIds, want[i], `request ${i}, caching ${enablePrefixCaching}`));
          assert.ok(e.stats().preemptionsTotal > 0, 'the cache forced preemptions');
        });
      }
    });

    it('a request sharing a long prefix is served from the prefix cache with identical output', async () => {
      const V = model().info.vocabSize;
      const shared = enginePrompt(7, 40, V);
      const a = greedy([...shared, 11, 12], 5);
      const b = greedy([...shared, 21, 22, 23], 5);
      const wantB = await expected(b.promptIds, 5);
      await withEngine(model(), { numBlocks: 32, blockSize: 16 }, async (e) => {
        const ra = await e.generate(a);
        assert.equal(ra.usage.cachedTokens, 0);
        const rb = await e.generate(b);
        assert.equal(rb.usage.cachedTokens, 32);
        assert.deepEqual(rb.tokenIds, wantB);
        assert.equal(e.stats().prefixCacheHits, 32);
      });
    });

    it('aborting running and waiting requests mid-generation frees every block', async () => {
      const V = model().info.vocabSize;
      await withEngine(model(), { numBlocks: 32, blockSize: 16, maxNumSeqs: 2, maxNumBatchedTokens: 64 }, async (e) => {
        const handles = Array.from({ length: 4 }, (_, i) => e.addRequest(greedy(enginePrompt(200 + i, 20, V), 40)));
        const keep = enginePrompt(300, 6, V);
        const kept = e.generate(greedy(keep, 4));
        const ends = handles.map(async (h) => {
          let n = 0;
          for await (const ev of h) {
            if (ev.type === 'finish') return ev.finishReason;
            if (++n === 3) h.abort();
          }
          return 'none';
        });
        e.abort(handles[3]!.requestId); // still waiting: maxNumSeqs is 2
        assert.deepEqual(await Promise.all(ends), ['abort', 'abort', 'abort', 'abort']);
        assert.deepEqual((await kept).tokenIds, await expected(keep, 4));
      });
    });

    it('finishes on stop ids, EOS and max tokens', async () => {
      const V = model().info.vocabSize;
      const p = enginePrompt(400, 12, V);
      const free = await expected(p, 8);
      await withEngine(model(), { numBlocks: 16, blockSize: 16 }, async (e) => {
        const r = await e.generate(greedy(p, 8));
        assert.deepEqual([r.finishReason, r.tokenIds], ['length', free]);
        const stopAt = free[3]!;
        const s = await e.generate({ ...greedy(p, 8), stopTokenIds: [stopAt] });
        assert.deepEqual([s.finishReason, s.stopTokenId, s.tokenIds], ['stop', stopAt, free.slice(0, free.indexOf(stopAt) + 1)]);
        const eos = model().info.eosTokenIds[0]!;
        const forced = normalizeSamplingParams({ temperature: 0, logitBias: { [String(eos)]: 100 } });
        const x = await e.generate({ promptIds: p, sampling: forced, maxTokens: 8 });
        assert.deepEqual([x.finishReason, x.stopTokenId, x.tokenIds], ['stop', eos, [eos]]);
      });
    });

    const tinyModels: Array<[string, () => string]> = [
      ...(['deepseek_v2', 'deepseek_v3', 'deepseek_v32'] as TinyKind[]).map((kind) => [kind, () => writeTinyModel(kind)] as [string, () => string]),
      ...Object.entries(GQA_CONFIGS).map(([name, config]) => [`${name} (bf16 K/V)`, () => writeRandomCheckpoint(mkdtempSync(join(tmpdir(), 'tessera-gqa-')), config, { seed: 3, dtype: 'BF16' })] as [string, () => string]),
    ];
    for (const [kind, write] of tinyModels) {
      it(`${kind} (random tiny checkpoint): batching, chunking and preemption keep solo outputs`, async () => {
        const dir = write();
        const tiny = loadModel(openModel(dir), makeBackend(), { fp8Activations: 'quant' });
        try {
          const V = tiny.info.vocabSize;
          const reqs = Array.from({ length: 16 }, (_, i) => greedy(enginePrompt(i, 3 + ((i * 5) % 17), V), 8));
          const want: number[][] = [];
          for (const r of reqs) want.push(await oracleGreedy(tiny, r.promptIds, r.maxTokens!));
          // Without prefix caching a preempted request recomputes its generated tokens too (multi-row decode slices).
          for (const [numBlocks, enablePrefixCaching] of [[64, true], [12, true], [12, false]] as const) {
            await withEngine(tiny, { numBlocks, blockSize: 4, maxNumSeqs: 16, maxNumBatchedTokens: 24, enablePrefixCaching }, async (e) => {
              const got = await Promise.all(reqs.map((r) => e.generate(r)));
              got.forEach((g, i) => assert.deepEqual(g.tokenIds, want[i], `request ${i}, ${numBlocks} blocks, caching ${enablePrefixCaching}`));
              if (numBlocks === 12) assert.ok(e.stats().preemptionsTotal > 0);
            });
          }
        } finally {
          tiny.dispose();
          rmSync(dir, { recursive: true });
        }
      });
    }
  });
}
