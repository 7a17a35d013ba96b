// Runs the compiled CLI as a real child process.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './fixtures.js';

export const cliPath = join(repoRoot, 'dist', 'src', 'cli', 'main.js');

export function runCli(args: string[], options: { input?: string; env?: Record<string, string>; timeoutMs?: number } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    encoding: 'utf8',
    input: options.input,
    env: { ...process.env, ...options.env },
    timeout: options.timeoutMs ?? 120_000,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
