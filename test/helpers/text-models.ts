// Random tiny DeepSeek models with a real tokenizer, for end-to-end text tests (run, chat, serve).
// The tokenizer files come from src/tokenizer/test-fixture.ts (the real DeepSeek-V3 vocabulary of
// 129280 tokens); the weights are a random tiny checkpoint whose vocab matches it. Hidden size 64
// keeps the file at ~34 MB (almost all of it embedding + lm_head), written to a temp dir.
// Output is gibberish: tests assert mechanics (token streams, framing, usage), not text quality.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import { makeDeepSeekModelDir } from '../../src/tokenizer/test-fixture.js';
import type { DeepSeekFlavor, FixtureDir } from '../../src/tokenizer/test-fixture.js';
import { tinyConfig, tinyTensors } from './tiny-models.js';

export const DEEPSEEK_VOCAB = 129280;

export interface TextModelOptions {
  /** config.json overrides (e.g. max_position_embeddings) */
  readonly config?: Record<string, unknown>;
  /** Weight seed: different seeds give different (but equally random) models. */
  readonly seed?: number;
}

/** A model directory with config.json, model.safetensors and the DeepSeek tokenizer files. */
export async function makeTextModelDir(flavor: DeepSeekFlavor = 'v32', options: TextModelOptions = {}): Promise<FixtureDir> {
  const fixture = await makeDeepSeekModelDir(flavor);
  const kind = flavor === 'v32' ? 'deepseek_v32' : 'deepseek_v3';
  const cfg = tinyConfig(kind, { vocab_size: DEEPSEEK_VOCAB, architectures: ['DeepseekV3ForCausalLM'], ...options.config });
  await writeFile(join(fixture.dir, 'config.json'), JSON.stringify(cfg, null, 2));
  writeSafetensors(join(fixture.dir, 'model.safetensors'), tinyTensors(cfg, options.seed ?? 7));
  return fixture;
}
