// Soak test of `tessera serve`: --concurrency clients loop for --minutes over a mix of streaming
// chat, non-streaming completions, n = 2, requests aborted by the client mid-answer (--abort-rate)
// and malformed ones (--bad-rate), against a KV cache far smaller than the load needs (preemption
// all the time). It reports 5xx responses, other failures, leaked KV blocks after the run and RSS
// growth over the second half.
//   node dist/bench/soak.js [--minutes 30] [--concurrency 16] [--kv-cache-tokens 256] [--device cpu] [--model DIR] [--json]
import { readFileSync } from 'node:fs';
import { startServerProcess } from '../test/helpers/server-process.js';
import { isMain, parseArgs } from './bench-util.js';

export interface SoakOptions {
  readonly url: string;
  /** the server's pid, for RSS samples from /proc */
  readonly pid: number;
  readonly seconds: number;
  readonly concurrency: number;
  readonly abortRate: number;
  readonly badRate: number;
  readonly onProgress?: (line: string) => void;
}

export interface SoakResult {
  readonly seconds: number;
  readonly requests: number;
  readonly completed: number;
  readonly aborted: number;
  readonly rejected4xx: number;
  readonly status5xx: number;
  /** anything else that went wrong: unexpected status, stream error events, missing [DONE], network errors */
  readonly failures: string[];
  readonly preemptions: number;
  /** KV blocks held once the server is idle after the run (0: nothing leaked) */
  readonly usedBlocksAfter: number;
  readonly healthyAfter: boolean;
  /** server RSS (bytes) at the half-way sample, at the end, and the largest sample of the second half */
  readonly rss: { readonly mid: number; readonly end: number; readonly maxSecondHalf: number; readonly growthSecondHalf: number };
  readonly serverResponses: Record<string, number>;
}

const WORDS = 'the river runs past old stone bridges while small boats carry fruit bread and letters toward the quiet market square'.split(' ');
const SYSTEM = 'You are a careful assistant. Answer briefly and stay on topic.';

function words(n: number): string {
  return Array.from({ length: n }, () => WORDS[Math.floor(Math.random() * WORDS.length)]).join(' ');
}

const int = (lo: number, hi: number) => lo + Math.floor(Math.random() * (hi - lo + 1));

/** Requests a well-behaved client sends; every one must end in 200 with a complete answer. */
function goodRequest(): { path: string; body: Record<string, unknown> } {
  const max_tokens = int(4, 96);
  const temperature = Math.random() < 0.5 ? 0 : Math.random();
  switch (int(0, 3)) {
    case 0:
      return { path: '/v1/completions', body: { prompt: words(int(1, 60)), max_tokens, temperature } };
    case 1:
      return { path: '/v1/chat/completions', body: { messages: [{ role: 'user', content: words(int(1, 40)) }], max_tokens, temperature, n: 2, seed: int(0, 1000) } };
    default:
      return {
        path: '/v1/chat/completions',
        body: { messages: [{ role: 'system', content: SYSTEM }, { role: 'user', content: `Question ${int(0, 99)}: ${words(int(1, 80))}` }], max_tokens, temperature, stream: true, stream_options: { include_usage: true } },
      };
  }
}

/** Requests that must be refused with a 4xx error object. */
const BAD_BODIES: readonly (string | Buffer)[] = [
  '{"messages": [',
  '{"messages": "hi"}',
  '{"messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}',
  '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": -5}',
  '{"messages": [{"role": "user", "content": "hi"}], "max_tokens": 1e999}',
  `{"messages": [{"role": "user", "content": "${'word '.repeat(700)}"}]}`,
  '{"messages": [{"role": "user", "content": "hi"}], "n": 1000}',
  Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
  '[' .repeat(5000) + ']'.repeat(5000),
];

interface Tally {
  requests: number;
  completed: number;
  aborted: number;
  rejected4xx: number;
  status5xx: number;
  failures: string[];
}

async function oneRequest(url: string, opts: SoakOptions, t: Tally): Promise<void> {
  t.requests++;
  const roll = Math.random();
  if (roll < opts.badRate) {
    const raw = BAD_BODIES[int(0, BAD_BODIES.length - 1)]!;
    const res = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: raw });
    const body = await res.text();
    if (res.status >= 500) t.status5xx++;
    if (res.status >= 400 && res.status < 500 && /"error"/.test(body)) t.rejected4xx++;
    else t.failures.push(`bad request answered ${res.status}: ${body.slice(0, 120)}`);
    return;
  }
  const abort = roll < opts.badRate + opts.abortRate;
  const { path, body } = goodRequest();
  const controller = new AbortController();
  if (abort) {
    body['stream'] = true;
    setTimeout(() => controller.abort(), int(1, 400));
  }
  try {
    const res = await fetch(`${url}${path}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body), signal: controller.signal });
    const text = await res.text();
    if (res.status >= 500) t.status5xx++;
    if (res.status !== 200) {
      t.failures.push(`${path} answered ${res.status}: ${text.slice(0, 120)}`);
      return;
    }
    if (body['stream'] === true && (!text.endsWith('data: [DONE]\n\n') || /^data: \{"error"/m.test(text))) t.failures.push(`${path} stream incomplete or with an error: ${text.slice(-200)}`);
    else t.completed++;
  } catch (e) {
    if (controller.signal.aborted) t.aborted++;
    else t.failures.push(`${path}: ${(e as Error).message}`);
  }
}

function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : NaN;
}

export async function metricValues(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w:]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const extra = (m[2] ?? '').split(',').filter((l) => l !== '' && !l.startsWith('model_name=')).join(',');
    out.set(extra ? `${m[1]}{${extra}}` : m[1]!, Number(m[3]));
  }
  return out;
}

/** Waits until no request runs or waits; returns the metrics then. */
export async function idleMetrics(url: string, timeoutMs = 60_000): Promise<Map<string, number>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = await metricValues(url);
    if ((m.get('vllm:num_requests_running') === 0 && m.get('vllm:num_requests_waiting') === 0) || Date.now() > deadline) return m;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function soak(opts: SoakOptions): Promise<SoakResult> {
  const t: Tally = { requests: 0, completed: 0, aborted: 0, rejected4xx: 0, status5xx: 0, failures: [] };
  const t0 = Date.now();
  const end = t0 + opts.seconds * 1000;
  const samples: { at: number; rss: number }[] = [];
  const sample = () => samples.push({ at: Date.now() - t0, rss: rssBytes(opts.pid) });
  sample();
  const sampler = setInterval(() => {
    sample();
    opts.onProgress?.(`${((Date.now() - t0) / 1000).toFixed(0)} s: ${t.requests} requests, ${t.completed} complete, ${t.aborted} aborted, ${t.rejected4xx} refused, ${t.status5xx} 5xx, ${t.failures.length} failures, RSS ${(samples.at(-1)!.rss / 2 ** 20).toFixed(0)} MiB`);
  }, Math.min(10_000, Math.max(1000, opts.seconds * 50)));
  const client = async () => {
    while (Date.now() < end) await oneRequest(opts.url, opts, t);
  };
  await Promise.all(Array.from({ length: opts.concurrency }, client));
  clearInterval(sampler);
  sample();
  const m = await idleMetrics(opts.url);
  const healthyAfter = (await fetch(`${opts.url}/health`)).status === 200;
  const half = opts.seconds * 500;
  const second = samples.filter((s) => s.at >= half);
  const mid = second[0]!.rss;
  const last = samples.at(-1)!.rss;
  const maxSecondHalf = Math.max(...second.map((s) => s.rss));
  const serverResponses = Object.fromEntries([...m].filter(([k]) => k.startsWith('tessera:http_responses_total')).map(([k, v]) => [/code="(\d+)"/.exec(k)![1]!, v]));
  return {
    seconds: (Date.now() - t0) / 1000,
    ...t,
    preemptions: m.get('vllm:num_preemptions_total') ?? NaN,
    usedBlocksAfter: m.get('tessera:kv_cache_blocks{state="used"}') ?? NaN,
    healthyAfter,
    rss: { mid, end: last, maxSecondHalf, growthSecondHalf: (last - mid) / mid },
    serverResponses,
  };
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { minutes: 30, concurrency: 16, abortRate: 0.1, badRate: 0.1, kvCacheTokens: 256, device: 'cpu', model: '', json: false });
  const server = await startServerProcess([...(a.model ? ['--model', a.model] : []), '--device', a.device, '--kv-cache-tokens', String(a.kvCacheTokens), '--block-size', '16', '--max-num-seqs', '16']);
  try {
    const r = await soak({ url: server.url, pid: server.proc.pid!, seconds: a.minutes * 60, concurrency: a.concurrency, abortRate: a.abortRate, badRate: a.badRate, onProgress: (l) => process.stderr.write(`soak: ${l}\n`) });
    if (a.json) console.log(JSON.stringify(r));
    else {
      console.log(`${r.seconds.toFixed(0)} s, ${r.requests} requests: ${r.completed} complete, ${r.aborted} aborted by the client, ${r.rejected4xx} malformed refused (4xx)`);
      console.log(`5xx: ${r.status5xx}; other failures: ${r.failures.length}${r.failures.length ? ` (first: ${r.failures[0]})` : ''}; preemptions: ${r.preemptions}`);
      console.log(`after the run: ${r.usedBlocksAfter} KV blocks used, /health ${r.healthyAfter ? 'ok' : 'NOT ok'}; server responses by code ${JSON.stringify(r.serverResponses)}`);
      console.log(`RSS: ${(r.rss.mid / 2 ** 20).toFixed(1)} MiB at half-time, ${(r.rss.end / 2 ** 20).toFixed(1)} MiB at the end (max ${(r.rss.maxSecondHalf / 2 ** 20).toFixed(1)}): ${(r.rss.growthSecondHalf * 100).toFixed(2)} % growth over the second half`);
    }
  } finally {
    await server.stop('SIGTERM');
  }
}

if (isMain(import.meta.url)) await main();
