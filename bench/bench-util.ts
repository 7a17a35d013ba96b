// Small helpers shared by the benchmark scripts: argument parsing, statistics, peak RSS and
// running a child process that prints one JSON line.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Repository root, found from the compiled location dist/bench/. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

type ArgValue = string | number | boolean;
type Widen<D> = { [K in keyof D]: D[K] extends boolean ? boolean : D[K] extends number ? number : string };

/**
 * Parses `--name value`, `--name=value` and `--flag` against defaults whose types decide how each
 * value is read; unknown names are an error (so a typo is not silently ignored).
 */
export function parseArgs<D extends Record<string, ArgValue>>(argv: readonly string[], defaults: D): Widen<D> {
  const out: Record<string, ArgValue> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith('--')) throw new Error(`unexpected argument ${a}`);
    const eq = a.indexOf('=');
    const key = (eq >= 0 ? a.slice(2, eq) : a.slice(2)).replace(/-([a-z])/g, (_, ch: string) => ch.toUpperCase());
    if (!(key in defaults)) throw new Error(`unknown option ${a} (known: ${Object.keys(defaults).map((k) => '--' + k.replace(/[A-Z]/g, (ch) => '-' + ch.toLowerCase())).join(' ')})`);
    const def = defaults[key];
    let raw: string | undefined = eq >= 0 ? a.slice(eq + 1) : undefined;
    if (typeof def === 'boolean') {
      out[key] = raw === undefined ? true : raw !== 'false' && raw !== '0';
      continue;
    }
    if (raw === undefined) raw = argv[++i];
    if (raw === undefined) throw new Error(`option ${a} needs a value`);
    if (typeof def === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new Error(`option ${a} needs a number, got ${raw}`);
      out[key] = n;
    } else {
      out[key] = raw;
    }
  }
  return out as Widen<D>;
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Line prefixes with which bench/rss-preload.ts reports a child's peak RSS and CPU time on stderr. */
export const PEAK_RSS_MARKER = '__BENCH_PEAK_RSS_BYTES__';
export const CPU_TIME_MARKER = '__BENCH_CPU_SECONDS__';

/** Peak resident set size of this process in bytes (VmHWM), or undefined off Linux. */
export function peakRssBytes(): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+)\s+kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface CpuSample {
  /** Jiffies the CPUs were busy / elapsed over all CPUs, from /proc/stat. */
  readonly busy: number;
  readonly total: number;
}

/** System-wide CPU counters (Linux), or undefined elsewhere. */
export function cpuSample(): CpuSample | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (f[3] ?? 0) + (f[4] ?? 0); // idle + iowait
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0); // guest time is already inside user
    return { busy: total - idle, total };
  } catch {
    return undefined;
  }
}

/** Average number of busy CPUs between two samples. */
export function busyCpus(a: CpuSample, b: CpuSample): number {
  const dt = b.total - a.total;
  return dt > 0 ? ((b.busy - a.busy) / dt) * cpus() : 0;
}

export function cpus(): number {
  return availableParallelism();
}

/**
 * Waits until fewer than `threshold` CPUs are busy over a 1 s window (other engineers' jobs on a
 * shared machine), for at most `maxWaitS` seconds. Returns the last busy-CPU measurement.
 */
export async function waitForIdle(threshold: number, maxWaitS: number, log: (m: string) => void): Promise<number> {
  const deadline = Date.now() + maxWaitS * 1000;
  let warned = false;
  for (;;) {
    const a = cpuSample();
    await new Promise((r) => setTimeout(r, 1000));
    const b = cpuSample();
    if (!a || !b) return 0;
    const busy = busyCpus(a, b);
    if (busy < threshold || Date.now() >= deadline) {
      if (busy >= threshold) log(`  machine still busy (${busy.toFixed(2)} CPUs) after ${maxWaitS} s; measuring anyway`);
      return busy;
    }
    if (!warned) log(`  waiting for other processes to finish (${busy.toFixed(2)} CPUs busy)...`);
    warned = true;
  }
}

/** True when the calling module is the script node was started with. */
export function isMain(importMetaUrl: string): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(importMetaUrl);
}

export interface ChildResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  /** The last stdout line that parses as a JSON object, if any. */
  readonly json: Record<string, unknown> | undefined;
}

/** Runs a command, echoing its stderr with a prefix, and returns its output and last JSON line. */
export function runChild(cmd: string, args: readonly string[], opts: { prefix: string; timeoutMs?: number; env?: NodeJS.ProcessEnv }): Promise<ChildResult> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { cwd: repoRoot, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    const timer = opts.timeoutMs ? setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs) : undefined;
    child.stdout.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      for (const line of d.toString().split('\n')) if (line.trim()) process.stderr.write(`  [${opts.prefix}] ${line}\n`);
    });
    const finish = (code: number | null): void => {
      if (timer) clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      for (const line of stdout.trim().split('\n').reverse()) {
        try {
          const v: unknown = JSON.parse(line);
          if (v && typeof v === 'object' && !Array.isArray(v)) { json = v as Record<string, unknown>; break; }
        } catch { /* not JSON */ }
      }
      done({ code, stdout, stderr, json });
    };
    child.on('error', (e) => { stderr += String(e); finish(null); });
    child.on('close', finish);
  });
}
