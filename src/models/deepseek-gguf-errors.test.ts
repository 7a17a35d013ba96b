// DeepSeek GGUF files that do not hold what their metadata implies: one-line errors naming the
// file and the GGUF tensor or key.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GgufFile } from '../formats/gguf.js';
import type { GgufValue } from '../formats/gguf.js';
import { gv } from '../formats/gguf-types.js';
import { writeGguf } from '../formats/gguf-writer.js';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { writeDeepseekGguf } from '../../bench/deepseek-gguf.js';
import { openModel } from './open-model.js';

const CONFIG = {
  model_type: 'deepseek_v3', vocab_size: 64, hidden_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 2,
  q_lora_rank: 32, kv_lora_rank: 32, qk_nope_head_dim: 16, qk_rope_head_dim: 8, v_head_dim: 16, intermediate_size: 64,
  moe_intermediate_size: 32, n_routed_experts: 4, n_shared_experts: 1, num_experts_per_tok: 2, n_group: 1, topk_group: 1,
  first_k_dense_replace: 1, rms_norm_eps: 1e-6, max_position_embeddings: 256, bos_token_id: 0, eos_token_id: 1,
};

interface Edit {
  readonly metadata?: (m: Map<string, GgufValue>) => void;
  /** tensor name -> null (dropped) or a new shape (same element count) */
  readonly tensors?: Readonly<Record<string, readonly number[] | null>>;
}

async function rewrite(from: string, to: string, edit: Edit): Promise<void> {
  const file = GgufFile.open(from);
  try {
    const metadata = new Map(file.metadata);
    edit.metadata?.(metadata);
    const tensors = [...file.tensors.values()]
      .filter((t) => edit.tensors?.[t.name] !== null)
      .map((t) => ({ name: t.name, type: t.type.name, shape: edit.tensors?.[t.name] ?? t.shape }));
    await writeGguf(to, { metadata, tensors, data: (t) => file.read(t.name), alignment: file.alignment });
  } finally {
    file.close();
  }
}

/** Opens and binds (checks every tensor) the file. */
function load(path: string): void {
  const m = openModel(path);
  try {
    m.architecture.check(m.tensors);
  } finally {
    m.close();
  }
}

test('DeepSeek GGUF bad input: one-line errors naming the file and the tensor or key', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ds-gguf-bad-'));
  try {
    const hf = writeRandomCheckpoint(join(dir, 'hf'), CONFIG, { seed: 3, dtype: 'F32' });
    const good = join(dir, 'good.gguf');
    await writeDeepseekGguf(hf, good, { dtype: 'F32' });
    load(good);
    const cases: Array<[string, Edit, RegExp]> = [
      ['no-k-b', { tensors: { 'blk.1.attn_k_b.weight': null } }, /no-k-b\.gguf: tensor "blk\.1\.attn_k_b\.weight": no tensor blk\.1\.attn_k_b\.weight \(model\.layers\.1\.self_attn\.kv_b_proj\.weight is made from blk\.1\.attn_k_b\.weight and blk\.1\.attn_v_b\.weight\)/],
      ['k-b-shape', { tensors: { 'blk.0.attn_k_b.weight': [2, 16, 32] } }, /k-b-shape\.gguf: tensor "blk\.0\.attn_k_b\.weight": shape \[2, 16, 32\] disagrees with the metadata, which implies \[2, 32, 16\]/],
      ['v-b-shape', { tensors: { 'blk.0.attn_v_b.weight': [2, 32, 16] } }, /tensor "blk\.0\.attn_v_b\.weight": shape \[2, 32, 16\] disagrees with the metadata, which implies \[2, 16, 32\]/],
      ['experts', { tensors: { 'blk.1.ffn_up_exps.weight': [2, 64, 64] } }, /experts\.gguf: tensor "blk\.1\.ffn_up_exps\.weight\[\d\]": shape \[\d+(, \d+)*\] disagrees with the config|has no slice 2 along its first dimension of 2/],
      ['no-kv-lora', { metadata: (m) => m.delete('deepseek2.attention.kv_lora_rank') }, /no-kv-lora\.gguf: key "deepseek2\.attention\.kv_lora_rank": missing metadata key/],
      ['gating', { metadata: (m) => m.set('deepseek2.expert_gating_func', gv.u32(7)) }, /key "deepseek2\.expert_gating_func": must be 1 \(softmax\) or 2 \(sigmoid\), got 7/],
      ['no-q-lora', { metadata: (m) => m.delete('deepseek2.attention.q_lora_rank') }, /key "deepseek2\.attention\.q_lora_rank": missing metadata key \(the file has attn_q_a\)/],
    ];
    for (const [name, edit, want] of cases) {
      const p = join(dir, `${name}.gguf`);
      await rewrite(good, p, edit);
      assert.throws(() => load(p), (e: Error) => {
        assert.match(e.message, want, name);
        assert.ok(!e.message.includes('\n'), `${name}: one line`);
        return true;
      });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the kv_b rebuilt from attn_k_b / attn_v_b lives in a scratch file until the model closes', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-ds-gguf-scratch-'));
  try {
    const hf = writeRandomCheckpoint(join(dir, 'hf'), CONFIG, { seed: 3, dtype: 'F32' });
    const path = join(dir, 'split.gguf');
    await writeDeepseekGguf(hf, path, { dtype: 'F32' });
    const m = openModel(path);
    const kvB = m.tensors.info('model.layers.0.self_attn.kv_b_proj.weight');
    assert.deepEqual(kvB.shape, [2 * (16 + 16), 32]);
    assert.notEqual(kvB.file, path, 'rebuilt, not a view of the file');
    assert.ok(existsSync(kvB.file));
    m.close();
    assert.ok(!existsSync(kvB.file), `${kvB.file} is left after close`);
  } finally {
    rmSync(dir, { recursive: true });
  }
});
