// The tokenizer of a model directory served over HTTP, built from the same JSON files and by the
// same code as in Node (src/tokenizer), only fetched instead of read.
import { createTokenizer } from '../tokenizer/tokenizer.js';
import type { LoadedTokenizer, Tokenizer } from '../tokenizer/tokenizer.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from '../tokenizer/model-files.js';
import { HttpFiles } from './http-fetch.js';
import type { FetchFn } from './http-fetch.js';

function join(base: string, file: string): string {
  return base.endsWith('/') ? base + file : `${base}/${file}`;
}

/** The directory's tokenizer, or null when it has no tokenizer.json (then prompts are token ids). */
export async function loadHttpTokenizer(baseUrl: string, fetchFn?: FetchFn): Promise<Tokenizer | null> {
  return (await loadHttpTokenizerFiles(baseUrl, fetchFn))?.tokenizer ?? null;
}

/** The tokenizer with the settings it was built from (what a chat encoder needs). */
export async function loadHttpTokenizerFiles(baseUrl: string, fetchFn?: FetchFn): Promise<LoadedTokenizer | null> {
  const files = new HttpFiles(fetchFn);
  const tokenizerPath = join(baseUrl, 'tokenizer.json');
  const tokenizerConfigPath = join(baseUrl, 'tokenizer_config.json');
  const generationPath = join(baseUrl, 'generation_config.json');
  const configPath = join(baseUrl, 'config.json');
  const [tokenizerJson, tokCfg, genCfg, modelCfg] = await Promise.all([
    files.json(tokenizerPath, false),
    files.json(tokenizerConfigPath, false),
    files.json(generationPath, false),
    files.json(configPath, false),
  ]);
  if (!tokenizerJson) return null;
  const modelFiles = {
    tokenizerConfig: parseTokenizerSettings(tokenizerConfigPath, tokCfg ?? {}),
    generation: parseGenerationDefaults(genCfg ? generationPath : undefined, genCfg ?? undefined),
    model: parseModelInfo(modelCfg ? configPath : undefined, modelCfg ?? undefined),
  };
  return { dir: baseUrl, tokenizer: createTokenizer(tokenizerPath, tokenizerJson, modelFiles), config: modelFiles.tokenizerConfig, generation: modelFiles.generation, model: modelFiles.model };
}
