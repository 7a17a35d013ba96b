// The quality cost of DSA, measured by Tessera: held-out perplexity with dense attention and with
// the indexer's top-k for several k (a copy of the model directory whose config.json changes only
// index_topk; the model was trained with 64), at one or more context lengths. Prints a markdown table.
//   node tools/train/dsa-table.mjs [MODEL_DIR] [--file TEXT] [--device cpu] [--topk 16,32,64,128,256] [--context 512]
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { file: { type: 'string' }, device: { type: 'string', default: 'cpu' }, topk: { type: 'string', default: '16,32,64,128,256' }, context: { type: 'string', default: '512' } },
});
const modelDir = resolve(positionals[0] ?? 'models/tessera-tiny');
const file = resolve(values.file ?? join(modelDir, 'heldout.txt'));
const cli = new URL('../../dist/src/cli/main.js', import.meta.url).pathname;

function withTopk(k) {
  const dir = mkdtempSync(join(tmpdir(), `tessera-topk${k}-`));
  for (const name of readdirSync(modelDir)) if (name !== 'config.json') symlinkSync(join(modelDir, name), join(dir, name));
  const config = JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8'));
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...config, index_topk: k }));
  return dir;
}

function ppl(dir, context, dense) {
  const args = [cli, 'perplexity', '--model', dir, '--file', file, '--device', values.device, '--context', String(context), '--json'];
  if (dense) args.push('--dense-attention');
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout).ppl;
}

const contexts = values.context.split(',').map(Number);
const ks = values.topk.split(',').map(Number);
console.log(`| attention | ${contexts.map((c) => `PPL, context ${c}`).join(' | ')} |`);
console.log(`|---|${contexts.map(() => '---:').join('|')}|`);
const dense = contexts.map((c) => ppl(modelDir, c, true));
console.log(`| dense (every causal key) | ${dense.map((p) => p.toFixed(3)).join(' | ')} |`);
for (const k of ks) {
  const dir = withTopk(k);
  const row = contexts.map((c, i) => {
    const p = ppl(dir, c, false);
    return `${p.toFixed(3)} (${(((p - dense[i]) / dense[i]) * 100).toFixed(2)}%)`;
  });
  console.log(`| top-${k}${k === 64 ? ' (trained)' : ''} | ${row.join(' | ')} |`);
}
