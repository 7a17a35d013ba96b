// Graceful shutdown and disconnects of `tessera serve`:
//   1. SIGTERM while --streams streams generate: every stream must finish (finish_reason, [DONE])
//      within --shutdown-timeout, a request sent meanwhile must get 503, the process must exit 0;
//   2. a client that disconnects mid-stream: its KV blocks must be free within one engine step.
//   node dist/bench/shutdown.js [--streams 32] [--max-tokens 64] [--shutdown-timeout 60] [--model DIR] [--device cpu] [--json]
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { parseSse, startServerProcess } from '../test/helpers/server-process.js';
import type { ServerProcess } from '../test/helpers/server-process.js';
import { isMain, parseArgs } from './bench-util.js';
import { metricValues } from './soak.js';

export interface SigtermResult {
  readonly streams: number;
  /** streams that ended with a finish_reason and [DONE] */
  readonly completed: number;
  readonly finishReasons: Record<string, number>;
  /** status of a request sent after the signal */
  readonly lateStatus: number;
  readonly exitCode: number | null;
  /** from the signal to the process's exit */
  readonly exitSeconds: number;
}

/** Starts `streams` streams, sends SIGTERM once each has produced text, and watches the drain. */
export async function sigtermDuringStreams(server: ServerProcess, streams: number, maxTokens: number): Promise<SigtermResult> {
  let started = 0;
  let signalled!: () => void;
  const allStarted = new Promise<void>((r) => (signalled = r));
  const stream = async (i: number) => {
    const res = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      body: JSON.stringify({ prompt: `Stream ${i} tells a story about`, max_tokens: maxTokens, ignore_eos: true, stream: true }),
    });
    const reader = res.body!.getReader();
    const decoder = new TextDecoder();
    let raw = '';
    let counted = false;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      raw += decoder.decode(value, { stream: true });
      if (!counted && raw.includes('"text"')) {
        counted = true;
        if (++started === streams) signalled();
      }
    }
    return parseSse(raw);
  };
  const all = Promise.all(Array.from({ length: streams }, (_, i) => stream(i)));
  await allStarted;
  const t0 = performance.now();
  server.proc.kill('SIGTERM');
  for (let t = 0; t < 500 && (await fetch(`${server.url}/health`)).status === 200; t++) await new Promise((r) => setTimeout(r, 10));
  const late = await fetch(`${server.url}/v1/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'late', max_tokens: 2 }) });
  const results = await all;
  const exitCode = await server.exited;
  const finishReasons: Record<string, number> = {};
  let completed = 0;
  for (const r of results) {
    const reason = (r.events.at(-1) as { choices?: { finish_reason?: string }[] } | undefined)?.choices?.[0]?.finish_reason ?? 'none';
    finishReasons[reason] = (finishReasons[reason] ?? 0) + 1;
    if (r.done && reason !== 'none') completed++;
  }
  return { streams, completed, finishReasons, lateStatus: late.status, exitCode, exitSeconds: (performance.now() - t0) / 1000 };
}

export interface DisconnectResult {
  readonly usedBlocksBefore: number;
  readonly usedBlocksAfter: number;
  /** engine steps that ran between the disconnect and the blocks being free */
  readonly stepsUntilFree: number;
}

/** One long stream, cut by the client after a few chunks; polls /metrics until its blocks are free. */
export async function disconnectFreesBlocks(url: string): Promise<DisconnectResult> {
  const { hostname, port } = new URL(url);
  const body = JSON.stringify({ prompt: 'A long answer about rivers', max_tokens: 400, ignore_eos: true, stream: true });
  const req = request({ host: hostname, port: Number(port), path: '/v1/completions', method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) } });
  const chunks = await new Promise<IncomingMessage>((resolve, reject) => {
    req.on('response', resolve);
    req.on('error', reject);
    req.end(body);
  });
  let seen = 0;
  await new Promise<void>((resolve) => chunks.on('data', () => ++seen === 5 && resolve()));
  const before = await metricValues(url);
  req.destroy();
  const steps0 = before.get('tessera:engine_steps_total')!;
  for (;;) {
    const m = await metricValues(url);
    const used = m.get('tessera:kv_cache_blocks{state="used"}')!;
    if (used === 0) return { usedBlocksBefore: before.get('tessera:kv_cache_blocks{state="used"}')!, usedBlocksAfter: used, stepsUntilFree: m.get('tessera:engine_steps_total')! - steps0 };
    await new Promise((r) => setTimeout(r, 2));
  }
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2), { streams: 32, maxTokens: 64, shutdownTimeout: 60, model: '', device: 'cpu', json: false });
  const server = await startServerProcess([...(a.model ? ['--model', a.model] : []), '--device', a.device, '--shutdown-timeout', String(a.shutdownTimeout), '--max-num-seqs', String(a.streams)]);
  const d = await disconnectFreesBlocks(server.url);
  const s = await sigtermDuringStreams(server, a.streams, a.maxTokens);
  if (a.json) console.log(JSON.stringify({ disconnect: d, sigterm: s }));
  else {
    console.log(`disconnect mid-stream: ${d.usedBlocksBefore} KV blocks in use before, ${d.usedBlocksAfter} after, ${d.stepsUntilFree} engine step(s) in between`);
    console.log(`SIGTERM during ${s.streams} streams: ${s.completed} finished (${JSON.stringify(s.finishReasons)}), a late request got ${s.lateStatus}, exit code ${s.exitCode} after ${s.exitSeconds.toFixed(1)} s (--shutdown-timeout ${a.shutdownTimeout})`);
  }
}

if (isMain(import.meta.url)) await main();
