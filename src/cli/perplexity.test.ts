import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../test/helpers/cli.js';
import { openWebGpu } from '../../test/helpers/webgpu.js';
import { DEFAULT_MODEL_DIR } from '../models/default-model.js';
import { perplexityWindows, windowNll } from './perplexity.js';

/** One row of models/tessera-tiny/eval.json `checks`: the training script's own evaluation. */
interface TrainingCheck {
  readonly file: string;
  readonly context: number;
  readonly chunks: number | null;
  readonly attention: 'sparse' | 'dense';
  readonly ppl: number;
  readonly scored_tokens: number;
}

interface CliResult {
  readonly ppl: number;
  readonly scoredTokens: number;
  readonly windows: number;
  readonly device: string;
}

const evalPath = join(DEFAULT_MODEL_DIR, 'eval.json');

function trainingCheck(file: string, context: number, attention: 'sparse' | 'dense'): TrainingCheck {
  const checks = (JSON.parse(readFileSync(evalPath, 'utf8')) as { checks: TrainingCheck[] }).checks;
  const c = checks.find((x) => x.file === file && x.context === context && x.attention === attention);
  if (!c) throw new Error(`${evalPath} has no check for ${file} at context ${context} (${attention})`);
  return c;
}

function perplexity(device: string, c: TrainingCheck): CliResult {
  const args = ['perplexity', '--model', DEFAULT_MODEL_DIR, '--file', join(DEFAULT_MODEL_DIR, c.file), '--device', device, '--context', String(c.context), '--json'];
  if (c.chunks !== null) args.push('--chunks', String(c.chunks));
  if (c.attention === 'dense') args.push('--dense-attention');
  const r = runCli(args);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as CliResult;
}

describe('perplexity protocol', () => {
  it('cuts context-1 tokens per window after BOS and drops the tail', () => {
    const ws = perplexityWindows([10, 11, 12, 13, 14, 15, 16], 4, 0);
    assert.deepEqual(ws, [
      [0, 10, 11, 12],
      [0, 13, 14, 15],
    ]);
  });

  it('scores the second half of a window from the logits one position earlier', () => {
    // vocab 2, window of 4: targets at positions 2 and 3, from logit rows 1 and 2.
    const logits = Float32Array.from([9, 9, 0, Math.log(3), Math.log(3), 0, 9, 9]);
    const r = windowNll(logits, [0, 1, 1, 0], 2);
    assert.equal(r.count, 2);
    assert.ok(Math.abs(r.nll - 2 * Math.log(4 / 3)) < 1e-6);
  });
});

// The embedded model's held-out perplexity in Tessera equals the training script's evaluation of
// the exported files (tools/train/ppl.py, same protocol) within 1% on every backend. The js
// and webgpu (lavapipe) devices are slow, so they get the short-context check (2 windows of 128,
// still top-64 sparse). webgpu runs where an adapter exists, and must where CI requires it.
const gpu = await openWebGpu();
gpu?.close();
const webgpu = gpu !== null || Boolean(process.env['TESSERA_REQUIRE_WEBGPU']);

describe('tessera perplexity on the embedded model', () => {
  const cases: Array<[string, string, number, 'sparse' | 'dense']> = [
    ['ref', 'heldout-short.txt', 512, 'sparse'],
    ['cpu', 'heldout-short.txt', 512, 'sparse'],
    ['cpu', 'heldout-short.txt', 512, 'dense'],
    ['js', 'heldout-short.txt', 128, 'sparse'],
    ...(webgpu ? [['webgpu', 'heldout-short.txt', 128, 'sparse'] as [string, string, number, 'sparse']] : []),
  ];
  const seen = new Map<string, number>();
  for (const [device, file, context, attention] of cases) {
    it(`${device}: ${file}, context ${context}, ${attention} attention, within 1% of training`, () => {
      const want = trainingCheck(file, context, attention);
      const got = perplexity(device, want);
      assert.equal(got.scoredTokens, want.scored_tokens, 'tokenization or windowing differs from tools/train/ppl.py');
      const rel = Math.abs(got.ppl - want.ppl) / want.ppl;
      assert.ok(rel < 0.01, `PPL ${got.ppl} vs training ${want.ppl} (${(rel * 100).toFixed(3)}%)`);
      seen.set(`${device} ${context} ${attention}`, got.ppl);
    });
  }

  it('--dense-attention really changes the attention (sparse and dense differ)', () => {
    const sparse = seen.get('cpu 512 sparse');
    const dense = seen.get('cpu 512 dense');
    assert.ok(sparse !== undefined && dense !== undefined, 'the cpu cases ran');
    assert.notEqual(sparse, dense);
  });

  it('explains a file shorter than one window, and a missing --file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-ppl-'));
    const short = join(dir, 'short.txt');
    writeFileSync(short, 'Too short to fill a window.\n');
    const r = runCli(['perplexity', '--model', DEFAULT_MODEL_DIR, '--file', short, '--device', 'ref']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /has \d+ tokens; one window of --context 512 needs 511/);
    const missing = runCli(['perplexity', '--model', DEFAULT_MODEL_DIR]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /--file is required/);
  });
});
