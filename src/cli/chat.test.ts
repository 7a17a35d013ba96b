// `tessera chat` driven through stdin (not a terminal: no prompt, no colours, no progress bar).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cliPath, runCli } from '../../test/helpers/cli.js';
import { makeTextModelDir } from '../../test/helpers/text-models.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

const STATS = /^(\d+) prompt tokens(?: \((\d+) cached\))?, (\d+) generated in/;

function statsLines(stderr: string): Array<{ prompt: number; cached: number; generated: number }> {
  return stderr.split('\n').flatMap((line) => {
    const m = STATS.exec(line);
    return m ? [{ prompt: Number(m[1]), cached: Number(m[2] ?? 0), generated: Number(m[3]) }] : [];
  });
}

describe('tessera chat', () => {
  let fixture: FixtureDir;
  before(async () => {
    fixture = await makeTextModelDir('v32');
  });
  after(() => fixture.dispose());

  const args = (...extra: string[]) => ['chat', '--model', fixture.dir, '--device', 'ref', '--ignore-eos', ...extra];

  it('keeps the history across turns and reuses its KV through the prefix cache', () => {
    const r = runCli(args('--max-tokens', '6', '--temperature', '0', '--block-size', '16'), { input: 'Hello there, who are you today?\nAnd what can you do for me?\n/exit\n' });
    assert.equal(r.code, 0, r.stderr);
    const [first, second, ...rest] = statsLines(r.stderr);
    assert.ok(first && second && rest.length === 0, r.stderr);
    assert.equal(first.generated, 6);
    assert.ok(second.prompt > first.prompt + first.generated, 'the second prompt holds the first turn and its answer');
    assert.ok(second.cached > 0, 'the repeated history came from the prefix cache');
    assert.equal(r.stdout.split('\n').filter((l) => l !== '').length >= 2, true, 'two answers on stdout');
  });

  it('/reset clears the history', () => {
    const r = runCli(args('--max-tokens', '3'), { input: 'Hello\n/reset\nHello\n' });
    assert.equal(r.code, 0, r.stderr);
    const [a, b] = statsLines(r.stderr);
    assert.equal(a?.prompt, b?.prompt);
    assert.match(r.stderr, /\[history cleared\]/);
  });

  it('Ctrl-C stops the current answer, not the program', async () => {
    const child = spawn(process.execPath, [cliPath, ...args('--max-tokens', '400')], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const waitFor = (cond: () => boolean) =>
      new Promise<void>((resolve, reject) => {
        const t0 = Date.now();
        const tick = setInterval(() => {
          if (cond()) {
            clearInterval(tick);
            resolve();
          } else if (Date.now() - t0 > 60_000) {
            clearInterval(tick);
            reject(new Error(`timed out; stderr: ${stderr}`));
          }
        }, 20);
      });
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stdin.write('Tell me a very long story\n');
    await waitFor(() => stdout.length > 0);
    child.kill('SIGINT');
    await waitFor(() => stderr.includes('[stopped]'));
    child.stdin.write('Thanks\n/exit\n');
    assert.equal(await exited, 0, stderr);
    const [first, second] = statsLines(stderr);
    assert.ok(first && first.generated < 400, 'the first answer was cut short');
    assert.match(stderr, /finish: abort/);
    assert.ok(second && second.prompt > first.prompt, 'the program went on to the next turn with the history');
  });
});
