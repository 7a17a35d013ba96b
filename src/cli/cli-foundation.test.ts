import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../../test/helpers/cli.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { loadGolden } from '../../test/helpers/golden.js';

const bf16 = fixturePath('v32-tiny-bf16');

test('logits --decode reproduces the golden prompt and teacher-forced decode logits', () => {
  const { golden, array } = loadGolden('v32-tiny-bf16');
  const prompt = golden.prompt_tokens[0]!;
  const forced = golden.greedy_tokens[0]!.slice(0, 16);
  const r = runCli(['logits', '--model', bf16, '--tokens', prompt.join(','), '--decode', forced.join(',')]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { prompt_logits: number[][]; decode_tokens: number[]; decode_logits: number[][] };
  assert.equal(out.prompt_logits.length, prompt.length);
  assert.deepEqual(out.decode_tokens, forced);
  const pre = array(0, 'prefill_logits');
  const dec = array(0, 'decode_logits');
  const dev = (rows: number[][], want: Float32Array) => Math.max(...rows.flatMap((row, i) => row.map((v, j) => Math.abs(v - want[i * row.length + j]!))));
  assert.ok(dev(out.prompt_logits, pre) < 2e-4);
  assert.ok(dev(out.decode_logits, dec) < 2e-4);
});

test('logits --greedy follows the golden greedy continuation on the FP8 checkpoint', () => {
  const { golden } = loadGolden('v32-tiny-fp8');
  const r = runCli(['logits', '--model', fixturePath('v32-tiny-fp8'), '--tokens', golden.prompt_tokens[0]!.join(','), '--greedy', '16']);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { decode_tokens: number[] };
  assert.deepEqual(out.decode_tokens, golden.greedy_tokens[0]!.slice(0, 16));
});

test('inspect reports architecture, parameters, dtypes and KV bytes', () => {
  const r = runCli(['inspect', '--model', fixturePath('v32-tiny-fp8'), '--json']);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout) as { architecture: string; parameters: { total: number }; dtypes: Record<string, { tensors: number }>; kvBytesPerToken: number };
  assert.equal(rep.architecture, 'deepseek_v32');
  assert.equal(rep.dtypes['F8_E4M3']!.tensors, 78);
  // 3 layers x (128 latent bytes + 4 scale + 16*4 rope + 128 + 4 indexer)
  assert.equal(rep.kvBytesPerToken, 3 * (128 + 4 + 64 + 132));
  const text = runCli(['inspect', '--model', bf16]);
  assert.match(text.stdout, /DSA lightning indexer: 16 heads x 128, top-k 16/);
});

/** A copy of the bf16 fixture whose safetensors header is rewritten by `edit`. */
function corruptedCopy(edit: (header: Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>, file: Buffer) => Buffer | void): string {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-bad-'));
  cpSync(bf16, dir, { recursive: true });
  const path = join(dir, 'model.safetensors');
  const file = readFileSync(path);
  const n = Number(file.readBigUInt64LE(0));
  const header = JSON.parse(file.subarray(8, 8 + n).toString()) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
  const replaced = edit(header, file);
  if (replaced) {
    writeFileSync(path, replaced);
  } else {
    const json = Buffer.from(JSON.stringify(header));
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    writeFileSync(path, Buffer.concat([len, json, file.subarray(8 + n)]));
  }
  return dir;
}

const LM = 'lm_head.weight';
const BAD_MODELS: Array<{ what: string; make: () => string; expect: RegExp }> = [
  {
    what: 'truncated file',
    make: () => {
      const d = corruptedCopy(() => {});
      truncateSync(join(d, 'model.safetensors'), 4_000_000);
      return d;
    },
    expect: /model\.safetensors: tensor "[^"]+": data_offsets .* go beyond the data section/,
  },
  { what: 'header length beyond the file', make: () => corruptedCopy((_, f) => { const b = Buffer.from(f.subarray(0, 1000)); return b; }), expect: /model\.safetensors: header length \d+ goes beyond the end of the file/ },
  { what: 'invalid header JSON', make: () => corruptedCopy((_, f) => { const b = Buffer.from(f); b[8] = 0x7a; return b; }), expect: /model\.safetensors: header is not valid JSON/ },
  { what: 'data offsets out of range', make: () => corruptedCopy((h) => { h[LM]!.data_offsets = [1e9, 1e9 + 262144]; }), expect: /model\.safetensors: tensor "lm_head\.weight": data_offsets .* go beyond the data section/ },
  {
    what: 'overlapping tensors',
    // lm_head and the embedding have the same shape: point one at the other's bytes.
    make: () => corruptedCopy((h) => { h[LM]!.data_offsets = [...h['model.embed_tokens.weight']!.data_offsets]; }),
    expect: /model\.safetensors: tensor "[^"]+": data overlaps tensor/,
  },
  { what: 'unknown dtype', make: () => corruptedCopy((h) => { h[LM]!.dtype = 'F4_E2M1'; }), expect: /model\.safetensors: tensor "lm_head\.weight": unknown dtype "F4_E2M1"/ },
  {
    what: 'tensor missing',
    make: () => corruptedCopy((h) => { delete h['model.layers.1.self_attn.indexer.wk.weight']; }),
    expect: /tensor "model\.layers\.1\.self_attn\.indexer\.wk\.weight": tensor missing from the model files/,
  },
  {
    what: 'shape that disagrees with config.json',
    make: () => {
      const d = corruptedCopy(() => {});
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
      cfg['intermediate_size'] = 512;
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
      return d;
    },
    expect: /model\.safetensors: tensor "model\.layers\.0\.mlp\.gate_proj\.weight": shape \[384, 256\] disagrees with the config, which implies \[512, 256\]/,
  },
  {
    what: 'unknown model_type',
    make: () => {
      const d = corruptedCopy(() => {});
      const cfg = JSON.parse(readFileSync(join(d, 'config.json'), 'utf8')) as Record<string, unknown>;
      cfg['model_type'] = 'gpt_oss';
      writeFileSync(join(d, 'config.json'), JSON.stringify(cfg));
      return d;
    },
    expect: /config\.json: key "model_type": unknown model_type "gpt_oss"; supported: deepseek_v2, deepseek_v3, deepseek_v32/,
  },
];

for (const bad of BAD_MODELS) {
  test(`bad model file (${bad.what}): one clear message, exit code 1, no stack trace`, () => {
    const dir = bad.make();
    try {
      const r = runCli(['logits', '--model', dir, '--tokens', '0,5', '--greedy', '1'], { timeoutMs: 30_000 });
      assert.equal(r.code, 1, `exit code; stderr: ${r.stderr}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, bad.expect);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
}
