// llama.cpp side of the benchmark, through node-llama-cpp's prebuilt CPU binary (no download, no
// build: getLlama is called with build 'never' and skipDownload). It evaluates a fixed prompt of
// token ids, then decodes greedily, and reports prefill and decode speed.
//
//   node dist/bench/llama-cpp-runner.js --model bench/out/dsv3-bench/model-bf16.gguf \
//     --prompt-tokens 128 --gen-tokens 64 --threads 2
//
// Timing: one untimed warm-up pass over the same prompt (pages the mmap'd weights in, like
// llama-bench's warm-up run), then the history is cleared and the measured pass runs.
// prefill = time from submitting the prompt to the first sampled token (one batch of N tokens);
// decode = time for the next M tokens, each one single-token evaluation plus greedy sampling.
import { benchPrompt } from '../src/cli/bench-prompt.js';
import { getLlama, LlamaLogLevel } from 'node-llama-cpp';
import type { Token } from 'node-llama-cpp';
import { GgufFile } from '../src/formats/gguf.js';
import { isMain, parseArgs, peakRssBytes } from './bench-util.js';

export interface LlamaCppBenchOptions {
  readonly modelPath: string;
  readonly promptTokens: number;
  readonly genTokens: number;
  readonly threads: number;
  readonly flashAttention?: boolean | 'auto';
  readonly log?: (m: string) => void;
}

export interface LlamaCppBenchResult {
  readonly engine: 'llama.cpp';
  readonly llama_cpp_release: string;
  readonly cpu_features: string;
  readonly prompt_tokens: number;
  readonly gen_tokens: number;
  readonly threads: number;
  readonly flash_attention: boolean | 'auto';
  readonly load_ms: number;
  readonly prefill_ms: number;
  readonly decode_ms: number;
  readonly prefill_tok_s: number;
  readonly decode_tok_s: number;
  /** First generated ids, to compare engines' greedy outputs by eye. */
  readonly first_tokens: readonly number[];
  readonly peak_rss_bytes?: number;
}


function ggufVocabSize(path: string): number {
  const f = GgufFile.open(path);
  try {
    return f.info('token_embd.weight').shape[0]!;
  } finally {
    f.close();
  }
}

export async function runLlamaCppBench(o: LlamaCppBenchOptions): Promise<LlamaCppBenchResult> {
  const log = o.log ?? (() => {});
  const flashAttention = o.flashAttention ?? false;
  const llama = await getLlama({
    gpu: false,
    build: 'never',
    skipDownload: true,
    usePrebuiltBinaries: true,
    progressLogs: false,
    logLevel: LlamaLogLevel.warn,
    maxThreads: o.threads,
  });
  try {
    const t0 = performance.now();
    const model = await llama.loadModel({ modelPath: o.modelPath, gpuLayers: 0 });
    const loadMs = performance.now() - t0;
    const prompt = benchPrompt(o.promptTokens, ggufVocabSize(o.modelPath)) as Token[];
    const ctx = await model.createContext({
      contextSize: Math.max(256, o.promptTokens + o.genTokens + 8),
      batchSize: Math.max(o.promptTokens, 32),
      threads: { ideal: o.threads, min: o.threads },
      flashAttention,
      sequences: 1,
    });
    const seq = ctx.getSequence();

    const pass = async (gen: number): Promise<{ prefillMs: number; decodeMs: number; tokens: number[] }> => {
      const tokens: number[] = [];
      const start = performance.now();
      let first = start;
      for await (const t of seq.evaluate(prompt, { temperature: 0, yieldEogToken: true })) {
        if (tokens.length === 0) first = performance.now();
        tokens.push(t);
        if (tokens.length >= gen + 1) break;
      }
      const end = performance.now();
      await seq.clearHistory();
      return { prefillMs: first - start, decodeMs: end - first, tokens };
    };

    log(`llama.cpp ${llama.llamaCppRelease.release}: warm-up pass`);
    await pass(4);
    log('llama.cpp: measured pass');
    const m = await pass(o.genTokens);
    const decoded = m.tokens.length - 1;
    await ctx.dispose();
    await model.dispose();
    return {
      engine: 'llama.cpp',
      llama_cpp_release: `${llama.llamaCppRelease.repo}@${llama.llamaCppRelease.release}`,
      cpu_features: llama.systemInfo.trim(),
      prompt_tokens: prompt.length,
      gen_tokens: decoded,
      threads: o.threads,
      flash_attention: flashAttention,
      load_ms: loadMs,
      prefill_ms: m.prefillMs,
      decode_ms: m.decodeMs,
      prefill_tok_s: prompt.length / (m.prefillMs / 1000),
      decode_tok_s: decoded / (m.decodeMs / 1000),
      first_tokens: m.tokens.slice(0, 16),
    };
  } finally {
    await llama.dispose();
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), {
    model: 'bench/out/dsv3-bench/model-bf16.gguf',
    promptTokens: 128,
    genTokens: 64,
    threads: 2,
    flashAttention: 'auto',
    json: false,
  });
  const fa = a.flashAttention === 'auto' ? 'auto' : a.flashAttention === 'on';
  const r = await runLlamaCppBench({
    modelPath: a.model,
    promptTokens: a.promptTokens,
    genTokens: a.genTokens,
    threads: a.threads,
    flashAttention: fa,
    log: (m) => console.error(m),
  });
  const rss = peakRssBytes();
  const out = { ...r, ...(rss !== undefined ? { peak_rss_bytes: rss } : {}) };
  if (a.json) console.log(JSON.stringify(out));
  else {
    console.log(`llama.cpp ${out.llama_cpp_release}, ${out.threads} threads, flash attention ${String(out.flash_attention)}`);
    console.log(`prefill ${out.prompt_tokens} tokens: ${out.prefill_tok_s.toFixed(1)} tok/s (${out.prefill_ms.toFixed(0)} ms)`);
    console.log(`decode  ${out.gen_tokens} tokens: ${out.decode_tok_s.toFixed(2)} tok/s (${out.decode_ms.toFixed(0)} ms)`);
    if (rss !== undefined) console.log(`peak RSS ${(rss / 2 ** 20).toFixed(0)} MiB`);
  }
}

if (isMain(import.meta.url)) await main();
