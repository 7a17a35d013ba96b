// Side-by-side benchmark of Tessera and llama.cpp on the same model: `--model dsv3` (default, a
// DeepSeek-V3-architecture MoE) or `--model qwen2` (DeepSeek-R1-Distill-Qwen-1.5B's shape).
//
//   npx tsc -p tsconfig.json && node dist/bench/compare-llama-cpp.js [--model dsv3|qwen2] \
//     [--gguf BF16|Q8_0|Q4_K_M|...] [--prompt-tokens 128] [--gen-tokens 64] [--threads 2] [--reps 3] \
//     [--skip-tessera] [--skip-llama]
//
// 1. generates bench/out/<model>-bench (HF directory + BF16 GGUF) unless a matching one exists;
//    with `--gguf TYPE` other than BF16, also model-<type>.gguf (requantize-gguf.ts, as
//    llama-quantize would), and both engines run that one file (Tessera with llama.cpp's
//    activation conversion, the default for GGUF files); without it Tessera runs the HF directory;
// then, `--reps` times (more, up to `--max-attempts`, default 3 x reps, while other processes
// disturbed some runs), interleaved so that each engine sees the same machine conditions:
// 2. measures memory read bandwidth (bench/membw.ts);
// 3. runs llama.cpp (bench/llama-cpp-runner.ts in a child process);
// 4. runs `node dist/src/cli/main.js bench --model <hf dir> --prompt-tokens N --gen-tokens M
//    --threads T --json`, which prints {"prefill_tok_s", "decode_tok_s", "weight_bytes_per_token"};
//    skipped with a message when the CLI is missing or fails.
// Prints medians, ratios and decode bandwidth as a fraction of the measured bandwidth, and writes
// all raw numbers to bench/out/compare-<time>.json.
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CPU_TIME_MARKER,
  PEAK_RSS_MARKER,
  busyCpus,
  cpuSample,
  isMain,
  median,
  parseArgs,
  repoRoot,
  runChild,
  waitForIdle,
} from './bench-util.js';
import { benchModelRecipe } from './bench-models.js';
import { defaultModelDir, makeBenchModel } from './make-model.js';
import { measureMemoryBandwidth } from './membw.js';
import { GGUF_OUT_TYPES } from './gguf-quant.js';
import type { GgufOutType } from './gguf-quant.js';
import { requantizeGguf } from './requantize-gguf.js';
import type { MemBwResult } from './membw.js';
import { detectIsa } from '../src/backends/cpu/cpu-isa.js';

interface EngineRun {
  readonly prefill_tok_s: number;
  readonly decode_tok_s: number;
  readonly weight_bytes_per_token?: number;
  readonly peak_rss_bytes?: number;
  /** CPUs kept busy by other processes during the run (system busy minus the engine's own CPU time). */
  readonly other_load_cpus?: number;
  readonly raw: Record<string, unknown>;
}

/** Runs during which other processes used more than this many CPUs are set aside when cleaner runs exist. */
const DISTURBED_CPUS = 0.3; // clean llama.cpp runs measure 0.15-0.2 (harness, kernel), disturbed ones 0.6+

type EngineOutcome = { ok: true; run: EngineRun } | { ok: false; reason: string };

const preload = pathToFileURL(join(repoRoot, 'dist', 'bench', 'rss-preload.js')).href;

function markerValue(stderr: string, marker: string): number | undefined {
  const m = new RegExp(`${marker} ([0-9.eE+-]+)`).exec(stderr);
  return m ? Number(m[1]) : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

async function runEngine(prefix: string, script: string, args: string[], timeoutMs: number): Promise<EngineOutcome> {
  const s0 = cpuSample();
  const t0 = performance.now();
  const r = await runChild(process.execPath, ['--import', preload, script, ...args], { prefix, timeoutMs });
  const wallS = (performance.now() - t0) / 1000;
  const s1 = cpuSample();
  const childCpuS = markerValue(r.stderr, CPU_TIME_MARKER);
  const other = s0 && s1 && childCpuS !== undefined ? Math.max(0, busyCpus(s0, s1) - childCpuS / wallS) : undefined;
  if (r.code !== 0) {
    const first = r.stderr.split('\n').find((l) => l.trim() && !l.includes(PEAK_RSS_MARKER))?.trim().slice(0, 200);
    return { ok: false, reason: `exited with code ${r.code}${first ? `: ${first}` : ''}` };
  }
  const prefill = num(r.json?.prefill_tok_s);
  const decode = num(r.json?.decode_tok_s);
  if (!r.json || prefill === undefined || decode === undefined) {
    return { ok: false, reason: 'did not print a JSON line with numeric prefill_tok_s and decode_tok_s' };
  }
  const wbt = num(r.json.weight_bytes_per_token);
  const rss = markerValue(r.stderr, PEAK_RSS_MARKER) ?? num(r.json.peak_rss_bytes);
  return {
    ok: true,
    run: {
      prefill_tok_s: prefill,
      decode_tok_s: decode,
      ...(wbt !== undefined ? { weight_bytes_per_token: wbt } : {}),
      ...(rss !== undefined ? { peak_rss_bytes: rss } : {}),
      ...(other !== undefined ? { other_load_cpus: other } : {}),
      raw: r.json,
    },
  };
}

interface Summary {
  readonly prefill_tok_s: number;
  readonly decode_tok_s: number;
  readonly weight_bytes_per_token: number;
  readonly decode_gb_s: number;
  readonly fraction_of_bandwidth: number | undefined;
  readonly peak_rss_bytes: number | undefined;
  readonly runs_total: number;
  readonly runs_disturbed: number;
}

function summarize(all: readonly EngineRun[], defaultBytes: number, bandwidthGbS: number | undefined): Summary {
  const clean = all.filter((r) => (r.other_load_cpus ?? 0) <= DISTURBED_CPUS);
  const runs = clean.length > 0 ? clean : all;
  const decode = median(runs.map((r) => r.decode_tok_s));
  const bytes = median(runs.map((r) => r.weight_bytes_per_token ?? defaultBytes));
  const rss = runs.map((r) => r.peak_rss_bytes).filter((x): x is number => x !== undefined);
  const gbs = (decode * bytes) / 1e9;
  return {
    prefill_tok_s: median(runs.map((r) => r.prefill_tok_s)),
    decode_tok_s: decode,
    weight_bytes_per_token: bytes,
    decode_gb_s: gbs,
    fraction_of_bandwidth: bandwidthGbS ? gbs / bandwidthGbS : undefined,
    peak_rss_bytes: rss.length ? Math.max(...rss) : undefined,
    runs_total: all.length,
    runs_disturbed: all.length - clean.length,
  };
}

function row(cells: readonly string[], widths: readonly number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
}

/** model-<type>.gguf next to the BF16 file, written from it unless it is already there and newer. */
async function quantizedBenchFile(bf16Path: string, type: string, log: (m: string) => void): Promise<string> {
  if (!(GGUF_OUT_TYPES as readonly string[]).includes(type)) throw new Error(`--gguf ${type}: not one of ${GGUF_OUT_TYPES.join(', ')}`);
  const path = join(dirname(bf16Path), `model-${type.toLowerCase()}.gguf`);
  if (existsSync(path) && statSync(path).mtimeMs >= statSync(bf16Path).mtimeMs) return path;
  log(`requantizing ${bf16Path} to ${type} ...`);
  await requantizeGguf(bf16Path, path, type as GgufOutType);
  return path;
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: 'dsv3',
    modelDir: '',
    gguf: 'BF16',
    promptTokens: 128,
    genTokens: 64,
    threads: 2,
    reps: 3,
    membwGib: 2,
    flashAttention: 'auto',
    tesseraCli: join(repoRoot, 'dist', 'src', 'cli', 'main.js'),
    skipTessera: false,
    skipLlama: false,
    timeoutS: 900,
    waitIdleS: 180,
    maxAttempts: 0,
  });
  const log = (m: string): void => { console.error(m); };
  const recipe = benchModelRecipe(a.model);
  const model = await makeBenchModel(recipe, a.modelDir || defaultModelDir(recipe));
  const p = model.params;
  const common = ['--prompt-tokens', String(a.promptTokens), '--gen-tokens', String(a.genTokens), '--threads', String(a.threads)];
  const gguf = a.gguf === 'BF16' ? null : await quantizedBenchFile(model.ggufPath, a.gguf, log);
  const llamaArgs = ['--model', gguf ?? model.ggufPath, ...common, '--flash-attention', a.flashAttention, '--json'];
  const tesseraArgs = ['bench', '--model', gguf ?? model.hfDir, ...common, '--json'];
  const ggufActive = gguf ? recipe.ggufActiveBytes(gguf) : model.ggufActiveBytesPerToken;
  const timeoutMs = a.timeoutS * 1000;

  let tesseraSkip: string | undefined = a.skipTessera ? 'skipped (--skip-tessera)' : undefined;
  if (!tesseraSkip && !existsSync(a.tesseraCli)) tesseraSkip = `skipped: ${a.tesseraCli} not found (build Tessera's CLI, then rerun)`;

  const bw: Array<MemBwResult & { other_load_cpus: number }> = [];
  const llama: EngineRun[] = [];
  const tessera: EngineRun[] = [];
  let llamaFail: string | undefined = a.skipLlama ? 'skipped (--skip-llama)' : undefined;
  const clean = (runs: readonly EngineRun[]): number => runs.filter((r) => (r.other_load_cpus ?? 0) <= DISTURBED_CPUS).length;
  const maxAttempts = a.maxAttempts > 0 ? a.maxAttempts : 3 * a.reps;
  for (let rep = 1; rep <= maxAttempts; rep++) {
    const enough = (llamaFail || clean(llama) >= a.reps) && (tesseraSkip || clean(tessera) >= a.reps);
    if (rep > a.reps && enough) break;
    console.error(`--- repetition ${rep} (${a.reps} undisturbed wanted, at most ${maxAttempts})`);
    await waitForIdle(DISTURBED_CPUS, a.waitIdleS, log);
    const c0 = cpuSample();
    const m = measureMemoryBandwidth({ threads: a.threads, bytes: Math.round(a.membwGib * 2 ** 30) });
    const c1 = cpuSample();
    // The probe keeps its threads busy, so anything above that is someone else.
    bw.push({ ...m, other_load_cpus: c0 && c1 ? Math.max(0, busyCpus(c0, c1) - a.threads) : 0 });
    console.error(m.available ? `  membw: best ${m.best_gb_s} GB/s, median ${m.median_gb_s} GB/s, other load ${bw[bw.length - 1]!.other_load_cpus.toFixed(2)} CPUs` : `  membw unavailable: ${m.reason}`);
    if (!llamaFail) {
      await waitForIdle(DISTURBED_CPUS, a.waitIdleS, log);
      const r = await runEngine('llama.cpp', join(repoRoot, 'dist', 'bench', 'llama-cpp-runner.js'), llamaArgs, timeoutMs);
      if (r.ok) {
        llama.push(r.run);
        log(`  llama.cpp: prefill ${r.run.prefill_tok_s.toFixed(1)} tok/s, decode ${r.run.decode_tok_s.toFixed(2)} tok/s, other load ${r.run.other_load_cpus?.toFixed(2) ?? '?'} CPUs`);
      } else {
        llamaFail = `failed: ${r.reason}`;
      }
    }
    if (!tesseraSkip) {
      await waitForIdle(DISTURBED_CPUS, a.waitIdleS, log);
      const r = await runEngine('tessera', a.tesseraCli, tesseraArgs, timeoutMs);
      if (r.ok) {
        tessera.push(r.run);
        log(`  tessera: prefill ${r.run.prefill_tok_s.toFixed(1)} tok/s, decode ${r.run.decode_tok_s.toFixed(2)} tok/s, other load ${r.run.other_load_cpus?.toFixed(2) ?? '?'} CPUs`);
      } else {
        tesseraSkip = `failed (${r.reason}); skipped`;
      }
    }
  }

  const bwOk = bw.filter((b) => b.available);
  const bwClean = bwOk.filter((b) => b.other_load_cpus <= DISTURBED_CPUS);
  const bwBest = (bwClean.length ? bwClean : bwOk).map((b) => b.best_gb_s!);
  const bandwidth = bwBest.length ? median(bwBest) : undefined;
  const activeBytes = gguf ? ggufActive : p.activeBytesPerTokenBf16;
  const ls = llama.length ? summarize(llama, activeBytes, bandwidth) : undefined;
  const ts = tessera.length ? summarize(tessera, activeBytes, bandwidth) : undefined;

  const gb = (x: number): string => (x / 1e9).toFixed(2);
  const isa = detectIsa();
  const cpu = { model: cpus()[0]?.model ?? 'unknown', isa: isa.level, features: isa.features };
  console.log('');
  console.log(`model: ${model.dir}`);
  console.log(`  ${recipe.label}, ${(p.totalParams / 1e6).toFixed(1)}M params (${gb(p.totalBytesBf16)} GB BF16), ` +
    `${(p.activeParamsPerToken / 1e6).toFixed(1)}M active per token (${(p.activeBytesPerTokenBf16 / 1e6).toFixed(1)} MB/token at 2 bytes; ` +
    `GGUF with ${recipe.ggufF32Note}: ${(model.ggufActiveBytesPerToken / 1e6).toFixed(1)} MB)`);
  if (gguf) console.log(`  both engines on ${gguf} (${a.gguf}): ${(ggufActive / 1e6).toFixed(1)} MB of weights per decoded token`);
  console.log(`cpu: ${cpu.model}, ${cpus().length} CPUs; Tessera renders for ${cpu.isa} (${cpu.features.join(' ')})`);
  console.log(`prompt ${a.promptTokens} tokens, ${a.genTokens} decoded tokens, ${a.threads} threads; ${bw.length} repetition${bw.length === 1 ? '' : 's'}, medians over undisturbed runs`);
  console.log(bandwidth !== undefined
    ? `memory read bandwidth, ${a.threads} threads over ${a.membwGib} GiB: ${bandwidth.toFixed(1)} GB/s (median of per-repetition best: ${bwBest.map((x) => x.toFixed(1)).join(', ')})`
    : `memory read bandwidth: unavailable (${bw[0]?.reason ?? 'not measured'})`);
  console.log('');
  const w = [10, 14, 13, 14, 12, 11, 10];
  console.log(row(['engine', 'prefill tok/s', 'decode tok/s', 'weights/token', 'decode GB/s', '% of membw', 'peak RSS'], w));
  const line = (name: string, s: Summary | undefined, why: string | undefined): void => {
    if (!s) return console.log(`${name.padEnd(w[0]!)}  ${why ?? 'no result'}`);
    console.log(row([
      name,
      s.prefill_tok_s.toFixed(1),
      s.decode_tok_s.toFixed(2),
      `${(s.weight_bytes_per_token / 1e6).toFixed(1)} MB`,
      s.decode_gb_s.toFixed(2),
      s.fraction_of_bandwidth !== undefined ? `${(s.fraction_of_bandwidth * 100).toFixed(1)}%` : 'n/a',
      s.peak_rss_bytes !== undefined ? `${(s.peak_rss_bytes / 2 ** 20).toFixed(0)} MiB` : 'n/a',
    ], w));
  };
  line('llama.cpp', ls, llamaFail);
  line('tessera', ts, tesseraSkip);
  for (const [name, sm] of [['llama.cpp', ls], ['tessera', ts]] as const) {
    if (sm && sm.runs_disturbed > 0) {
      const clean = sm.runs_total - sm.runs_disturbed;
      console.log(`note: ${name}: ${sm.runs_disturbed} of ${sm.runs_total} runs had other processes using > ${DISTURBED_CPUS} CPUs; ` +
        (clean > 0 ? `medians use the ${clean} undisturbed run(s)` : 'no undisturbed run, medians use all runs'));
    }
  }
  if (ls && ts) {
    console.log(`\ntessera / llama.cpp: prefill ${(ts.prefill_tok_s / ls.prefill_tok_s).toFixed(2)}x, decode ${(ts.decode_tok_s / ls.decode_tok_s).toFixed(2)}x`);
  }
  const llamaRaw = llama[0]?.raw;
  if (llamaRaw) console.log(`\nllama.cpp: ${String(llamaRaw.llama_cpp_release)} (node-llama-cpp prebuilt CPU), flash attention ${a.flashAttention}`);

  const out = join(repoRoot, 'bench', 'out', `compare-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  writeFileSync(out, JSON.stringify({
    args: { ...a, modelDir: model.dir }, model: { id: recipe.id, dir: model.dir, params: p, gguf_active_bytes_per_token: model.ggufActiveBytesPerToken },
    cpu, bandwidth_gb_s: bandwidth, membw: bw, llama_cpp: { summary: ls, runs: llama, note: llamaFail },
    tessera: { summary: ts, runs: tessera, note: tesseraSkip },
  }, null, 2) + '\n');
  console.log(`raw results: ${out}`);
}

if (isMain(import.meta.url)) await main();
