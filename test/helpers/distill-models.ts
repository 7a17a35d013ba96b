// Test support: an R1-Distill-Qwen model as users have it, with random weights — a Hugging Face
// directory (config.json, model.safetensors and the distill's tokenizer files) and the same model
// converted to GGUF, whose tokenizer.* metadata (chat template included) is the distill's own, as
// convert_hf_to_gguf.py writes it. The weights are a tiny Qwen2 (hidden 16, one layer, tied
// embeddings) over the tokenizer's 151665 ids, so the checkpoint is ~5 MB (BF16) and ~10 MB plus
// the vocabulary (F32 GGUF). Output is gibberish; tests check mechanics.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeLlamaFamilyGguf } from '../../bench/llama-gguf.js';
import { writeRandomCheckpoint } from '../../src/conformance/random-checkpoint.js';
import { DISTILL_IDS, distillSideFiles, distillTokenizerJson } from './distill-tokenizers.js';
import { useDistillTokenizer } from './gguf-vocab-files.js';

export interface DistillModel {
  /** the Hugging Face directory */
  readonly dir: string;
  /** the same model as one .gguf file */
  readonly gguf: string;
  dispose(): Promise<void>;
}

const IDS = DISTILL_IDS['qwen-distill'];

export function tinyQwenDistillConfig(): Record<string, unknown> {
  return {
    model_type: 'qwen2',
    architectures: ['Qwen2ForCausalLM'],
    vocab_size: IDS.vocabSize,
    hidden_size: 16,
    intermediate_size: 32,
    num_hidden_layers: 1,
    num_attention_heads: 2,
    num_key_value_heads: 1,
    max_position_embeddings: 2048,
    rms_norm_eps: 1e-6,
    rope_theta: 10000,
    tie_word_embeddings: true,
    hidden_act: 'silu',
    bos_token_id: IDS.bos,
    eos_token_id: IDS.eos,
  };
}

/** Writes both forms of the model into a fresh temporary directory. */
export async function makeQwenDistillModel(seed = 3): Promise<DistillModel> {
  const root = await mkdtemp(join(tmpdir(), 'tessera-distill-model-'));
  const dir = join(root, 'R1-Distill-Qwen-tiny');
  writeRandomCheckpoint(dir, tinyQwenDistillConfig(), { seed, dtype: 'BF16' });
  const [tokenizer, side] = await Promise.all([distillTokenizerJson('qwen-distill'), distillSideFiles('qwen-distill')]);
  await writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer));
  for (const name of ['tokenizer_config.json', 'generation_config.json'] as const) await writeFile(join(dir, name), JSON.stringify(side[name], null, 2));
  const gguf = join(root, 'R1-Distill-Qwen-tiny-F32.gguf');
  await writeLlamaFamilyGguf(dir, gguf, { dtype: 'F32' });
  await useDistillTokenizer(gguf, 'qwen-distill');
  return { dir, gguf, dispose: () => rm(root, { recursive: true, force: true }) };
}
