// `tessera bench serve`: a load generator for any OpenAI-compatible server, reporting what
// `vllm bench serve` reports: TTFT, TPOT (excluding the first token), ITL (gaps between streamed
// chunks), end-to-end latency, request and token throughput, and failures. Requests stream from
// /v1/completions with ignore_eos, so every request produces exactly --output-len tokens.
import { parseArgs } from 'node:util';
import { UsageError } from './cli-error.js';
import { parseIntFlag, requireFlag } from './common.js';

export const BENCH_SERVE_USAGE = `tessera bench serve --url http://127.0.0.1:8000 [--concurrency 8] [--requests 64] [--input-len 64] [--output-len 64]
    [--model NAME] [--api-key KEY] [--seed 0] [--json]
  Load test of a running server (streaming /v1/completions, ignore_eos): TTFT, TPOT, ITL, E2EL
  (mean / median / p99 ms), request and token throughput, failed requests.`;

const WORDS = 'the of and to in is was for on that with as by at from his her an which are this be or had not but have they you one all were we their there been has when who will more no if out so said what up its about into than them can only other new some could time these two may then do first any my now such like our over man me even most made after also did many before must through back years where much your way well down should because each just those people how too little state good very make world still own see men work long here get both between life being under never day same another know while last might us great old year off come since against go came right used take three'.split(' ');

interface RequestResult {
  readonly ok: boolean;
  readonly error?: string;
  readonly ttftMs: number;
  readonly e2eMs: number;
  readonly itlMs: readonly number[];
  readonly promptTokens: number;
  readonly outputTokens: number;
}

interface Stats {
  readonly mean: number;
  readonly median: number;
  readonly p99: number;
  readonly std: number;
}

export interface BenchServeReport {
  readonly requests: number;
  readonly successful: number;
  readonly failed: number;
  readonly concurrency: number;
  readonly duration_s: number;
  readonly total_input_tokens: number;
  readonly total_output_tokens: number;
  readonly request_throughput: number;
  readonly output_throughput: number;
  readonly total_token_throughput: number;
  readonly ttft_ms: Stats;
  readonly tpot_ms: Stats;
  readonly itl_ms: Stats;
  readonly e2el_ms: Stats;
  readonly errors: readonly string[];
}

function stats(values: readonly number[]): Stats {
  if (values.length === 0) return { mean: 0, median: 0, p99: 0, std: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const q = (p: number) => {
    const pos = (sorted.length - 1) * p;
    const lo = Math.floor(pos);
    return sorted[lo]! + (sorted[Math.min(lo + 1, sorted.length - 1)]! - sorted[lo]!) * (pos - lo);
  };
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  const std = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / values.length);
  return { mean, median: q(0.5), p99: q(0.99), std };
}

function randomPrompt(seed: number, words: number): string {
  let x = (seed * 2654435761 + 1) >>> 0;
  const out: string[] = [];
  for (let i = 0; i < words; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out.push(WORDS[(x >>> 8) % WORDS.length]!);
  }
  return out.join(' ');
}

interface BenchOptions {
  readonly url: string;
  readonly model: string | undefined;
  readonly apiKey: string | undefined;
  readonly inputLen: number;
  readonly outputLen: number;
}

async function oneRequest(o: BenchOptions, prompt: string): Promise<RequestResult> {
  const start = performance.now();
  const fail = (error: string): RequestResult => ({ ok: false, error, ttftMs: 0, e2eMs: performance.now() - start, itlMs: [], promptTokens: 0, outputTokens: 0 });
  let res: Response;
  try {
    res = await fetch(`${o.url.replace(/\/$/, '')}/v1/completions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(o.apiKey ? { Authorization: `Bearer ${o.apiKey}` } : {}) },
      body: JSON.stringify({
        ...(o.model ? { model: o.model } : {}),
        prompt,
        max_tokens: o.outputLen,
        temperature: 0,
        ignore_eos: true,
        stream: true,
        stream_options: { include_usage: true },
      }),
    });
  } catch (e) {
    return fail((e as Error).message);
  }
  // a broken response (cut connection, malformed event) is one failed request, not a failed run
  try {
    return await measureStream(res, start, fail);
  } catch (e) {
    return fail(`${(e as Error).message}`);
  }
}

async function measureStream(res: Response, start: number, fail: (reason: string) => RequestResult): Promise<RequestResult> {
  if (!res.ok || !res.body) return fail(`HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`);
  let ttft: number | null = null;
  let last = 0;
  const itl: number[] = [];
  let usage = null as { prompt_tokens: number; completion_tokens: number } | null;
  let buffer = '';
  const decoder = new TextDecoder();
  for await (const chunk of res.body) {
    buffer += decoder.decode(chunk as Uint8Array, { stream: true });
    let cut: number;
    while ((cut = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, cut);
      buffer = buffer.slice(cut + 2);
      if (!event.startsWith('data: ')) continue; // keep-alive comments
      const data = event.slice(6);
      if (data === '[DONE]') continue;
      const j = JSON.parse(data) as { error?: { message: string }; choices: Array<{ text?: string }>; usage?: { prompt_tokens: number; completion_tokens: number } | null };
      if (j.error) return fail(j.error.message);
      if (j.usage) usage = j.usage;
      if ((j.choices[0]?.text ?? '') === '') continue;
      const now = performance.now();
      if (ttft === null) ttft = now - start;
      else itl.push(now - last);
      last = now;
    }
  }
  const e2e = performance.now() - start;
  if (usage === null) return fail('the stream ended without a usage chunk');
  return { ok: true, ttftMs: ttft ?? e2e, e2eMs: e2e, itlMs: itl, promptTokens: usage.prompt_tokens, outputTokens: usage.completion_tokens };
}

export async function benchServe(o: BenchOptions & { concurrency: number; requests: number; seed: number }): Promise<BenchServeReport> {
  const results: RequestResult[] = [];
  let next = 0;
  const start = performance.now();
  const worker = async () => {
    while (next < o.requests) {
      const i = next++;
      results.push(await oneRequest(o, randomPrompt(o.seed + i, o.inputLen)));
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, o.requests) }, worker));
  const duration = (performance.now() - start) / 1000;
  const ok = results.filter((r) => r.ok);
  const input = ok.reduce((n, r) => n + r.promptTokens, 0);
  const output = ok.reduce((n, r) => n + r.outputTokens, 0);
  return {
    requests: o.requests,
    successful: ok.length,
    failed: results.length - ok.length,
    concurrency: o.concurrency,
    duration_s: duration,
    total_input_tokens: input,
    total_output_tokens: output,
    request_throughput: ok.length / duration,
    output_throughput: output / duration,
    total_token_throughput: (input + output) / duration,
    ttft_ms: stats(ok.map((r) => r.ttftMs)),
    tpot_ms: stats(ok.filter((r) => r.outputTokens > 1).map((r) => (r.e2eMs - r.ttftMs) / (r.outputTokens - 1))),
    itl_ms: stats(ok.flatMap((r) => r.itlMs)),
    e2el_ms: stats(ok.map((r) => r.e2eMs)),
    errors: [...new Set(results.filter((r) => !r.ok).map((r) => r.error ?? 'unknown'))].slice(0, 5),
  };
}

function formatReport(r: BenchServeReport): string {
  const row = (label: string, value: string) => `${label.padEnd(36)}${value}`;
  const lat = (name: string, s: Stats) => [row(`Mean ${name} (ms):`, s.mean.toFixed(2)), row(`Median ${name} (ms):`, s.median.toFixed(2)), row(`P99 ${name} (ms):`, s.p99.toFixed(2))];
  return [
    '============ Serving Benchmark Result ============',
    row('Successful requests:', String(r.successful)),
    row('Failed requests:', String(r.failed)),
    row('Maximum request concurrency:', String(r.concurrency)),
    row('Benchmark duration (s):', r.duration_s.toFixed(2)),
    row('Total input tokens:', String(r.total_input_tokens)),
    row('Total generated tokens:', String(r.total_output_tokens)),
    row('Request throughput (req/s):', r.request_throughput.toFixed(2)),
    row('Output token throughput (tok/s):', r.output_throughput.toFixed(2)),
    row('Total token throughput (tok/s):', r.total_token_throughput.toFixed(2)),
    '---------------Time to First Token----------------',
    ...lat('TTFT', r.ttft_ms),
    '-----Time per Output Token (excl. 1st token)------',
    ...lat('TPOT', r.tpot_ms),
    '---------------Inter-token Latency----------------',
    ...lat('ITL', r.itl_ms),
    '----------------End-to-end Latency----------------',
    ...lat('E2EL', r.e2el_ms),
    '==================================================',
    ...r.errors.map((e) => `error: ${e}`),
    '',
  ].join('\n');
}

export async function benchServeCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      url: { type: 'string' },
      model: { type: 'string' },
      'api-key': { type: 'string' },
      concurrency: { type: 'string' },
      requests: { type: 'string' },
      'input-len': { type: 'string' },
      'output-len': { type: 'string' },
      seed: { type: 'string' },
      json: { type: 'boolean' },
    },
    strict: true,
  });
  const url = requireFlag('url', v.url);
  if (!/^https?:\/\//.test(url)) throw new UsageError(`--url must start with http:// or https://, got "${url}"`);
  const report = await benchServe({
    url,
    model: v.model,
    apiKey: v['api-key'],
    concurrency: parseIntFlag('concurrency', v.concurrency) ?? 8,
    requests: parseIntFlag('requests', v.requests) ?? 64,
    inputLen: parseIntFlag('input-len', v['input-len']) ?? 64,
    outputLen: parseIntFlag('output-len', v['output-len']) ?? 64,
    seed: parseIntFlag('seed', v.seed, 0) ?? 0,
  });
  out(v.json ? JSON.stringify(report) + '\n' : formatReport(report));
  if (report.successful === 0) throw new Error(`every request failed${report.errors[0] ? `: ${report.errors[0]}` : ''}`);
}
