// Random tiny DeepSeek models with a real tokenizer, for end-to-end text tests (run, chat, serve).
// The tokenizer files come from src/tokenizer/test-fixture.ts (the real DeepSeek-V3 vocabulary);
// the weights are a random tiny checkpoint whose vocab matches it. Output is gibberish: tests
// assert mechanics (token streams, framing, usage), not text quality.
//
// By default the vocabulary is cut to its first 8192 BPE tokens plus every added token (renumbered
// to follow them): DeepSeek's ids are in merge order, so dropping the later merges leaves a working
// byte-level BPE whose special tokens and chat encodings are unchanged. The logits row shrinks from
// 129280 to 9008, which makes every generated token ~14x cheaper and the checkpoint ~1 MB.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeSafetensors } from '../../src/formats/safetensors-writer.js';
import { makeDeepSeekModelDir } from './tokenizer-fixture.js';
import type { DeepSeekFlavor, FixtureDir } from './tokenizer-fixture.js';
import { tinyConfig, tinyTensors } from './tiny-models.js';

export const DEEPSEEK_VOCAB = 129280;
const FIRST_ADDED_ID = 128000;

export interface TextModelOptions {
  /** config.json overrides (e.g. max_position_embeddings) */
  readonly config?: Record<string, unknown>;
  /** Weight seed: different seeds give different (but equally random) models. */
  readonly seed?: number;
  /** BPE tokens kept before the added tokens; 'full' keeps DeepSeek's whole vocabulary. */
  readonly bpeTokens?: number | 'full';
}

interface TokenizerJson {
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
  added_tokens: Array<{ id: number; content: string }>;
}

/** Cuts tokenizer.json to the first `keep` BPE ids; returns the new vocab size. */
async function pruneTokenizer(dir: string, keep: number): Promise<number> {
  const path = join(dir, 'tokenizer.json');
  const t = JSON.parse(await readFile(path, 'utf8')) as TokenizerJson;
  const vocab: Record<string, number> = {};
  for (const [token, id] of Object.entries(t.model.vocab)) if (id < keep) vocab[token] = id;
  t.model.merges = t.model.merges.filter((m) => {
    const [a, b] = typeof m === 'string' ? (m.split(' ') as [string, string]) : m;
    return vocab[a] !== undefined && vocab[b] !== undefined && vocab[a + b] !== undefined;
  });
  t.model.vocab = vocab;
  let max = keep - 1;
  for (const added of t.added_tokens) {
    if (added.id >= FIRST_ADDED_ID) added.id = keep + (added.id - FIRST_ADDED_ID);
    max = Math.max(max, added.id);
  }
  await writeFile(path, JSON.stringify(t));
  return max + 1;
}

/** A model directory with config.json, model.safetensors and the DeepSeek tokenizer files. */
export async function makeTextModelDir(flavor: DeepSeekFlavor = 'v32', options: TextModelOptions = {}): Promise<FixtureDir> {
  const fixture = await makeDeepSeekModelDir(flavor);
  const keep = options.bpeTokens ?? 8192;
  const vocabSize = keep === 'full' ? DEEPSEEK_VOCAB : await pruneTokenizer(fixture.dir, keep);
  const kind = flavor === 'v32' ? 'deepseek_v32' : 'deepseek_v3';
  const cfg = tinyConfig(kind, { vocab_size: vocabSize, architectures: ['DeepseekV3ForCausalLM'], ...options.config });
  await writeFile(join(fixture.dir, 'config.json'), JSON.stringify(cfg, null, 2));
  writeSafetensors(join(fixture.dir, 'model.safetensors'), tinyTensors(cfg, options.seed ?? 7));
  return fixture;
}

/**
 * A stop string made of the last two characters of one generated token and the first two of the
 * next, chosen so that its first occurrence in `text` is exactly at that boundary. `pieces` are
 * the tokens' texts in order; special tokens (absent from the text) are skipped. Returns the stop
 * string and how many tokens generation takes to complete it.
 */
export function stopAcrossTokens(pieces: readonly string[], text: string): { stop: string; tokens: number } | null {
  let offset = 0;
  for (let i = 0; i + 1 < pieces.length; i++) {
    const a = pieces[i]!;
    if (/^<｜.*｜>$/.test(a)) continue;
    offset += a.length;
    const b = pieces[i + 1]!;
    if (a.length < 2 || b.length < 2 || /^<｜.*｜>$/.test(b) || /\uFFFD/.test(a + b)) continue;
    const stop = a.slice(-2) + b.slice(0, 2);
    if (text.indexOf(stop) === offset - 2) return { stop, tokens: i + 2 };
  }
  return null;
}
