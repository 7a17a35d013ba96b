import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../test/helpers/cli.js';
import { DEFAULT_MODEL_DIR } from '../models/default-model.js';
import type { BenchResult } from './bench.js';

test('tessera bench: one JSON row per prompt length, on the embedded model without --model', () => {
  const r = runCli(['bench', '--prompt-tokens', '8,24', '--gen-tokens', '3', '--threads', '1', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /no --model given; using the embedded model/);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as BenchResult);
  assert.deepEqual(rows.map((x) => [x.prompt_tokens, x.gen_tokens, x.device, x.threads]), [[8, 3, 'cpu', 1], [24, 3, 'cpu', 1]]);
  const fileBytes = statSync(join(DEFAULT_MODEL_DIR, 'model.safetensors')).size;
  for (const x of rows) {
    assert.ok(x.prefill_tok_s > 0 && x.decode_tok_s > 0, JSON.stringify(x));
    // MoE: a decoded token reads the dense part and 2 of 16 experts per layer, well under the file
    assert.ok(x.weight_bytes_per_token > 0.2 * fileBytes && x.weight_bytes_per_token < fileBytes, `${x.weight_bytes_per_token} of ${fileBytes}`);
    assert.ok(Math.abs(x.decode_gb_s - (x.decode_tok_s * x.weight_bytes_per_token) / 1e9) < 1e-9);
  }
});

test('tessera bench: bad flag values are usage errors', () => {
  for (const [args, message] of [
    [['--prompt-tokens', '8,x'], /--prompt-tokens takes a comma-separated list/],
    [['--device', 'js', '--threads', '2'], /--threads applies to --device cpu only/],
    [['--device', 'tpu'], /unknown --device "tpu"/],
  ] as const) {
    const r = runCli(['bench', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, message);
  }
});
