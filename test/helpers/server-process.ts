// Runs `tessera serve` as a child process on 127.0.0.1 with an OS-chosen port, waits until /health
// says ok, and parses SSE streams the way a client sees them on the wire.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { cliPath } from './cli.js';

export interface ServerProcess {
  readonly url: string;
  readonly proc: ChildProcess;
  stderr(): string;
  /** SIGTERM and wait for exit; returns the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  readonly exited: Promise<number | null>;
}

export async function startServerProcess(args: readonly string[], timeoutMs = 180_000): Promise<ServerProcess> {
  const proc = spawn(process.execPath, [cliPath, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  proc.stdout!.resume();
  const exited = new Promise<number | null>((resolve) => proc.on('exit', (code) => resolve(code)));
  const deadline = Date.now() + timeoutMs;
  let url: string | null = null;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`tessera serve exited with ${proc.exitCode}: ${stderr}`);
    if (Date.now() > deadline) {
      proc.kill('SIGKILL');
      throw new Error(`tessera serve did not become healthy: ${stderr}`);
    }
    url ??= /listening on (http:\/\/[^\s]+)/.exec(stderr)?.[1] ?? null;
    if (url !== null) {
      const ok = await fetch(`${url}/health`).then((r) => r.ok, () => false);
      if (ok) break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const base = url;
  return {
    url: base,
    proc,
    exited,
    stderr: () => stderr,
    stop: async (signal = 'SIGTERM') => {
      if (proc.exitCode === null) proc.kill(signal);
      return exited;
    },
  };
}

export interface SseStream {
  /** parsed `data:` payloads except [DONE] */
  readonly events: unknown[];
  /** comment lines (": keep-alive") */
  readonly comments: string[];
  readonly done: boolean;
  readonly raw: string;
}

/** Splits a raw SSE body into events; checks the framing (blank-line separated, data: or : lines). */
export function parseSse(raw: string): SseStream {
  const events: unknown[] = [];
  const comments: string[] = [];
  let done = false;
  for (const block of raw.split('\n\n')) {
    if (block === '') continue;
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) comments.push(line);
      else if (line.startsWith('data: ')) {
        if (done) throw new Error('data after [DONE]');
        const payload = line.slice(6);
        if (payload === '[DONE]') done = true;
        else events.push(JSON.parse(payload));
      } else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
    }
  }
  return { events, comments, done, raw };
}
