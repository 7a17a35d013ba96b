// `tessera serve`: the OpenAI-compatible server. It listens first (so /health can say "loading"),
// loads the model, serves; SIGTERM or Ctrl-C drains in-flight requests for --shutdown-timeout
// seconds and exits 0. A second Ctrl-C exits at once.
import { parseArgs } from 'node:util';
import { TesseraServer } from '../server/index.js';
import { demoMounts, handleStatic } from '../browser/static-files.js';
import type { ServerOptions } from '../server/index.js';
import { UsageError } from './cli-error.js';
import { ENGINE_FLAG_OPTIONS, ENGINE_FLAGS_USAGE, modelDirFlag, oneOf, parseBytesFlag, parseIntFlag, parseNumberFlag, textModelFlags } from './common.js';
import { loadWithProgress } from './run.js';
import { followAndClose, tensorParallelFlag } from './tensor-parallel.js';

export const SERVE_USAGE = `tessera serve [--model DIR] [--host 127.0.0.1] [--port 8000] [--api-key KEY ...] [--allowed-origin URL|* ...]
    [--served-model-name NAME] [--max-waiting-requests 1024] [--queue-full-status 429|503] [--shutdown-timeout 30]
    [--sse-keepalive 15] [--reasoning-field reasoning|reasoning_content] [--health-stuck-after 120] [--max-body-size 32MiB]
    ${ENGINE_FLAGS_USAGE}
  OpenAI-compatible server: POST /v1/chat/completions, /v1/completions, /tokenize, /detokenize;
  GET /v1/models, /health, /metrics. API keys guard /v1/*. Without --model, serves the embedded model.`;

const log = (s: string) => process.stderr.write(`tessera serve: ${s}\n`);

export async function serveCommand(argv: string[]): Promise<void> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      ...ENGINE_FLAG_OPTIONS,
      model: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'api-key': { type: 'string', multiple: true },
      'allowed-origin': { type: 'string', multiple: true },
      'served-model-name': { type: 'string' },
      'max-waiting-requests': { type: 'string' },
      'queue-full-status': { type: 'string' },
      'shutdown-timeout': { type: 'string' },
      'sse-keepalive': { type: 'string' },
      'reasoning-field': { type: 'string' },
      'health-stuck-after': { type: 'string' },
      'max-body-size': { type: 'string' },
    },
    strict: true,
  });
  const port = parseIntFlag('port', v.port, 0);
  if (port !== undefined && port > 65535) throw new UsageError(`--port must be <= 65535, got ${port}`);
  const keys = v['api-key'] ?? [];
  if (keys.some((k) => k.length === 0)) throw new UsageError('--api-key must not be empty');
  const seconds = (flag: string, value: string | undefined, positive = false) => {
    const s = parseNumberFlag(flag, value, { min: 0 });
    if (positive && s === 0) throw new UsageError(`--${flag} must be > 0, got ${value}`);
    return s === undefined ? undefined : Math.round(s * 1000);
  };
  const options: ServerOptions = {
    host: v.host ?? '127.0.0.1',
    ...(port !== undefined ? { port } : {}),
    apiKeys: keys,
    allowedOrigins: v['allowed-origin'] ?? [],
    maxWaitingRequests: parseIntFlag('max-waiting-requests', v['max-waiting-requests'], 1),
    queueFullStatus: Number(oneOf('queue-full-status', v['queue-full-status'], ['429', '503'] as const, '429')) as 429 | 503,
    shutdownTimeoutMs: seconds('shutdown-timeout', v['shutdown-timeout']),
    keepAliveMs: seconds('sse-keepalive', v['sse-keepalive']),
    reasoningField: oneOf('reasoning-field', v['reasoning-field'], ['reasoning', 'reasoning_content'] as const, 'reasoning'),
    healthStuckMs: seconds('health-stuck-after', v['health-stuck-after'], true),
    maxBodyBytes: parseBytesFlag('max-body-size', v['max-body-size']),
    // the browser demo (WebGPU in the page, the embedded model) at '/', when the bundle is built
    staticFiles: (req, res) => handleStatic(demoMounts(), req, res),
  };
  const modelOptions = textModelFlags(v);
  const dir = modelDirFlag(v.model);
  const tp = tensorParallelFlag(v, log);
  if (tp.communicator && tp.communicator.rank !== 0) return followAndClose(dir, modelOptions, tp);

  const server = new TesseraServer(options);
  let addr;
  try {
    addr = await server.listen();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`${options.host}:${options.port ?? 8000} is already in use; pick another --port`);
    if (code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') throw new Error(`cannot listen on --host ${options.host}: ${code}`);
    throw e;
  }
  const closed = new Promise<void>((resolve) => server.http.once('close', resolve));
  log(`listening on http://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port} (loading ${dir})`);

  let stopping: Promise<unknown> | null = null;
  const stop = (signal: string) => {
    if (stopping) {
      log(`${signal} again: exiting now`);
      process.exit(1);
    }
    log(`${signal}: no longer admitting requests; draining ${server.inFlight} in flight (up to ${server.options.shutdownTimeoutMs / 1000} s)`);
    stopping = server.shutdown().then(({ drained }) => log(drained ? 'drained; bye' : 'shutdown timeout: aborted the remaining requests; bye'));
  };
  const onTerm = () => stop('SIGTERM');
  const onInt = () => stop('SIGINT');
  process.on('SIGTERM', onTerm);
  process.on('SIGINT', onInt);
  try {
    const tm = await loadWithProgress(dir, { ...modelOptions, ...(v['served-model-name'] ? { name: v['served-model-name'] } : {}), ...tp.modelOptions });
    if (stopping) {
      await tm.close();
    } else {
      server.setModel(tm);
      const c = tm.engine.config;
      log(`ready: model "${tm.name}", context ${tm.maxModelLen} tokens, KV cache ${c.numBlocks * c.blockSize} tokens, up to ${c.maxNumSeqs} sequences per step`);
    }
    await closed;
    await stopping;
  } catch (e) {
    await server.shutdown(0);
    throw e;
  } finally {
    process.off('SIGTERM', onTerm);
    process.off('SIGINT', onInt);
    tp.close();
  }
}
