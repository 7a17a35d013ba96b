// Generates a benchmark model twice with identical values: a Hugging Face directory
// (config.json + model.safetensors, HF names, BF16) and a BF16 GGUF for llama.cpp. The models and
// their GGUF layouts are the recipes of bench-models.ts: `dsv3` (DeepSeek-V3 MoE, llama.cpp
// `deepseek2`) and `qwen2` (DeepSeek-R1-Distill-Qwen-1.5B's shape, llama.cpp `qwen2`).
//
//   node dist/bench/make-model.js [--model dsv3|qwen2] [--out bench/out/<model>-bench] [--force]
//
// A manifest.json records the generator version, seed and sizes; an existing model whose
// manifest matches is reused.
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isMain, parseArgs, repoRoot } from './bench-util.js';
import { benchModelRecipe } from './bench-models.js';
import type { BenchModelRecipe } from './bench-models.js';
import { paramSummaryOf } from './model-config.js';
import type { HfTensor, ParamSummary } from './model-config.js';
import { tensorBytes } from './random-weights.js';
import { writeSafetensors } from '../src/formats/safetensors-writer.js';

export function defaultModelDir(recipe: BenchModelRecipe): string {
  return join(repoRoot, 'bench', 'out', recipe.dirName);
}

export interface BenchModelFiles {
  readonly dir: string;
  readonly hfDir: string;
  readonly safetensorsPath: string;
  readonly ggufPath: string;
  readonly params: ParamSummary;
  /** Bytes of GGUF weights read per decoded token (F32 norms etc. included, one embedding row). */
  readonly ggufActiveBytesPerToken: number;
}

interface Manifest {
  generator_version: number;
  seed: number;
  config: unknown;
  safetensors_bytes: number;
  gguf_bytes: number;
  params: ParamSummary;
  gguf_active_bytes_per_token: number;
}

function paths(dir: string): { hfDir: string; safetensorsPath: string; ggufPath: string; manifestPath: string } {
  const hfDir = join(dir, 'hf');
  return { hfDir, safetensorsPath: join(hfDir, 'model.safetensors'), ggufPath: join(dir, 'model-bf16.gguf'), manifestPath: join(dir, 'manifest.json') };
}

function readManifest(path: string): Manifest | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Manifest;
  } catch {
    return undefined;
  }
}

function upToDate(dir: string, r: BenchModelRecipe): Manifest | undefined {
  const p = paths(dir);
  const m = readManifest(p.manifestPath);
  if (!m || m.generator_version !== r.generatorVersion || m.seed !== r.seed || JSON.stringify(m.config) !== JSON.stringify(r.config)) return undefined;
  if (!existsSync(p.safetensorsPath) || statSync(p.safetensorsPath).size !== m.safetensors_bytes) return undefined;
  if (!existsSync(p.ggufPath) || statSync(p.ggufPath).size !== m.gguf_bytes) return undefined;
  return m;
}

export async function makeBenchModel(
  recipe: BenchModelRecipe,
  dir: string = defaultModelDir(recipe),
  opts: { force?: boolean; log?: (m: string) => void } = {},
): Promise<BenchModelFiles> {
  const log = opts.log ?? ((m: string) => console.error(m));
  const p = paths(dir);
  const params = paramSummaryOf(recipe.tensors);
  const existing = opts.force ? undefined : upToDate(dir, recipe);
  if (existing) {
    return { dir, ...p, params, ggufActiveBytesPerToken: existing.gguf_active_bytes_per_token };
  }
  mkdirSync(p.hfDir, { recursive: true });
  const byName = new Map<string, HfTensor>(recipe.tensors.map((t) => [t.name, t]));
  const gen = (name: string): Uint8Array => {
    const t = byName.get(name);
    if (!t) throw new Error(`no checkpoint tensor ${name}`);
    return tensorBytes(t, recipe.seed);
  };

  log(`make-model: ${(params.totalParams / 1e6).toFixed(1)}M params (${(params.totalBytesBf16 / 2 ** 30).toFixed(2)} GiB BF16), ` +
    `${(params.activeParamsPerToken / 1e6).toFixed(1)}M active per token; writing ${dir}`);
  let t0 = Date.now();
  writeFileSync(join(p.hfDir, 'config.json'), JSON.stringify(recipe.configJson, null, 2) + '\n');
  writeFileSync(join(p.hfDir, 'generation_config.json'), JSON.stringify(recipe.generationConfigJson, null, 2) + '\n');
  const st = writeSafetensors(p.safetensorsPath, recipe.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: () => gen(t.name) })));
  log(`make-model: model.safetensors ${(st.fileSize / 2 ** 30).toFixed(2)} GiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  t0 = Date.now();
  const ggufBytes = await recipe.writeGguf({ hfDir: p.hfDir, ggufPath: p.ggufPath, tensorBytes: gen });
  log(`make-model: model-bf16.gguf ${(ggufBytes / 2 ** 30).toFixed(2)} GiB in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

  const ggufActive = recipe.ggufActiveBytes(p.ggufPath);
  const manifest: Manifest = {
    generator_version: recipe.generatorVersion,
    seed: recipe.seed,
    config: recipe.config,
    safetensors_bytes: st.fileSize,
    gguf_bytes: ggufBytes,
    params,
    gguf_active_bytes_per_token: ggufActive,
  };
  writeFileSync(p.manifestPath, JSON.stringify(manifest, null, 2) + '\n');
  return { dir, ...p, params, ggufActiveBytesPerToken: ggufActive };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2), { model: 'dsv3', out: '', force: false });
  const recipe = benchModelRecipe(args.model);
  const files = await makeBenchModel(recipe, args.out ? resolve(args.out) : defaultModelDir(recipe), { force: args.force });
  console.log(JSON.stringify(files, null, 2));
}

if (isMain(import.meta.url)) await main();
