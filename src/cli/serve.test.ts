import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runCli } from '../../test/helpers/cli.js';

// Flag errors stop `tessera serve` before it loads anything or listens: exit code 2 and one line
// naming the flag.
test('tessera serve rejects bad flag values with a usage error', () => {
  const cases: Array<[string[], RegExp]> = [
    [['--port', '70000'], /--port must be <= 65535/],
    [['--max-waiting-requests', '0'], /--max-waiting-requests must be an integer >= 1/],
    [['--health-stuck-after', '0'], /--health-stuck-after must be > 0/],
    [['--shutdown-timeout=-1'], /--shutdown-timeout must be >= 0/],
    [['--queue-full-status', '500'], /--queue-full-status must be one of 429, 503/],
    [['--api-key', ''], /--api-key must not be empty/],
    [['--max-body-size', 'lots'], /--max-body-size must be a size/],
    [['--device', 'js', '--threads', '2'], /--threads applies to --device cpu only/],
  ];
  for (const [args, message] of cases) {
    const r = runCli(['serve', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(' '));
  }
});
