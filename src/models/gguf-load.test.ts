// GGUF models as users get them wrong: each bad file is one line naming the file and the tensor
// or key, exit code 1, no stack trace, through the CLI as a user runs it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, truncateSync, statSync, renameSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile } from '../formats/gguf.js';
import { gv } from '../formats/gguf-types.js';
import type { GgmlTypeName, GgufValue } from '../formats/gguf-types.js';
import { writeGguf } from '../formats/gguf-writer.js';
import type { GgufTensorSpec } from '../formats/gguf-writer.js';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { writeLlamaFamilyGguf } from '../../bench/llama-gguf.js';
import { runCli } from '../../test/helpers/cli.js';
import { openModel } from './open-model.js';

const dir = mkdtempSync(join(tmpdir(), 'tessera-gguf-load-'));
test.after(() => (process.env['KEEP'] ? undefined : rmSync(dir, { recursive: true, force: true })));

const CONFIG = { model_type: 'qwen2', vocab_size: 300, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 4, num_key_value_heads: 2, intermediate_size: 96, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 512, bos_token_id: 0, eos_token_id: 1 };
const good = join(dir, 'good.gguf');
await writeLlamaFamilyGguf(writeRandomCheckpoint(join(dir, 'hf'), CONFIG, { seed: 1, dtype: 'F32' }), good, { dtype: 'F32' });

interface Edit {
  metadata?: (m: Map<string, GgufValue>) => void;
  /** a tensor's new type/shape (its bytes are resized to match) or null to drop it */
  tensor?: (t: GgufTensorSpec) => GgufTensorSpec | null;
}

/** The good file rewritten with one thing wrong. */
async function variant(name: string, edit: Edit): Promise<string> {
  const f = GgufFile.open(good);
  try {
    const metadata = new Map(f.metadata);
    edit.metadata?.(metadata);
    const specs: Array<{ spec: GgufTensorSpec; from: string }> = [];
    for (const t of f.tensors.values()) {
      const spec = edit.tensor ? edit.tensor({ name: t.name, type: t.type.name as GgmlTypeName, shape: t.shape }) : { name: t.name, type: t.type.name as GgmlTypeName, shape: t.shape };
      if (spec) specs.push({ spec, from: t.name });
    }
    const path = join(dir, name);
    await writeGguf(path, {
      metadata,
      tensors: specs.map((s) => s.spec),
      data: (spec, i) => {
        const bytes = f.read(specs[i]!.from);
        const want = f.info(specs[i]!.from).type.name === spec.type && spec.shape.join() === f.info(specs[i]!.from).shape.join() ? bytes.byteLength : null;
        if (want !== null) return bytes;
        const elems = spec.shape.reduce((a, b) => a * b, 1);
        return new Uint8Array(spec.type === 'Q8_0' ? (elems / 32) * 34 : spec.type === 'IQ2_XXS' ? (elems / 256) * 66 : elems * 4);
      },
    });
    return path;
  } finally {
    f.close();
  }
}

test('a good GGUF model opens and inspect names its architecture, format and types', () => {
  const r = runCli(['inspect', '--model', good]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^architecture {2}qwen2: 2 layers, hidden 64/m);
  assert.match(r.stdout, /^format {8}GGUF$/m);
  assert.match(r.stdout, /^weights .*F32 \d+ tensors/m);
});

const CASES: Array<[string, () => Promise<string>, RegExp]> = [
  ['truncated file', async () => {
    const p = join(dir, 'truncated.gguf');
    await writeGguf(p, { metadata: [], tensors: [], data: () => new Uint8Array(0) });
    renameSync(await variant('t.gguf', {}), p);
    truncateSync(p, statSync(p).size - 100);
    return p;
  }, /truncated\.gguf: tensor "[^"]+": data \[\d+, \d+\) lies beyond the end of the file .*truncated/],
  ['bad magic', async () => {
    const p = await variant('magic.gguf', {});
    const { openSync, writeSync, closeSync } = await import('node:fs');
    const fd = openSync(p, 'r+');
    writeSync(fd, Buffer.from('GGUX'), 0, 4, 0);
    closeSync(fd);
    return p;
  }, /magic\.gguf: .*not a GGUF file/i],
  ['unknown architecture', () => variant('arch.gguf', { metadata: (m) => m.set('general.architecture', gv.str('mamba')) }), /arch\.gguf: key "general\.architecture": architecture "mamba" is not supported; supported: .*qwen2/],
  ['missing metadata key', () => variant('key.gguf', { metadata: (m) => m.delete('qwen2.block_count') }), /key\.gguf: key "qwen2\.block_count": missing metadata key/],
  ['metadata that disagrees with a tensor shape', () => variant('heads.gguf', { metadata: (m) => m.set('qwen2.attention.head_count', gv.u32(8)) }), /heads\.gguf: tensor "blk\.0\.attn_k\.weight": shape \[32, 64\] disagrees with the config, which implies \[16, 64\]/],
  ['a missing tensor', () => variant('missing.gguf', { tensor: (t) => (t.name === 'blk.1.ffn_down.weight' ? null : t) }), /missing\.gguf: tensor "model\.layers\.1\.mlp\.down_proj\.weight": no tensor "blk\.1\.ffn_down\.weight"/],
  ['a quant type Tessera cannot compute with', () => variant('iq2.gguf', { tensor: (t) => (t.name === 'blk.0.ffn_up.weight' ? { ...t, type: 'IQ2_XXS', shape: [96, 256] } : t) }), /iq2\.gguf: tensor "[^"]*": /],
];

for (const [what, make, pattern] of CASES) {
  test(`bad GGUF (${what}): one line naming the file and the tensor or key, exit 1`, async () => {
    const path = await make();
    for (const args of [['inspect', '--model', path], ['logits', '--model', path, '--tokens', '1,2,3', '--device', 'ref']]) {
      const r = runCli(args);
      assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
      const lines = r.stderr.trim().split('\n');
      assert.equal(lines.length, 1, `${args[0]} prints one line: ${r.stderr}`);
      assert.match(lines[0]!, pattern, args[0]);
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    }
  });
}

test('a split GGUF set with a missing shard names the shard', async () => {
  const p = join(dir, 'split-00001-of-00002.gguf');
  renameSync(await variant('s.gguf', { metadata: (m) => { m.set('split.no', gv.u16(0)); m.set('split.count', gv.u16(2)); } }), p);
  assert.throws(() => openModel(p), /split-00002-of-00002\.gguf: shard of the split set split-00001-of-00002\.gguf is missing/);
});
