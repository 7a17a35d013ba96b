import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseDeepseekConfig } from './deepseek-config.js';
import { ModelFormatError } from '../formats/errors.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { tinyConfig } from '../../test/helpers/tiny-models.js';

const v32 = JSON.parse(readFileSync(fixturePath('v32-tiny-fp8', 'config.json'), 'utf8')) as Record<string, unknown>;

test('DeepSeek-V3.2 config is normalized into a frozen object', () => {
  const c = parseDeepseekConfig('config.json', v32);
  assert.ok(Object.isFrozen(c));
  assert.equal(c.modelType, 'deepseek_v32');
  assert.deepEqual(c.indexer, { nHeads: 16, headDim: 128, topk: 16 });
  assert.deepEqual(c.fp8, { blockSize: [128, 128], scaleFormat: 'ue8m0' });
  assert.equal(c.yarn?.factor, 40);
  assert.equal(c.topkMethod, 'noaux_tc');
  assert.deepEqual(c.eosTokenIds, [1]);
});

test('DeepSeek-V2 defaults: softmax routing, q_lora_rank null means a plain q_proj', () => {
  const c = parseDeepseekConfig('config.json', tinyConfig('deepseek_v2', { scoring_func: undefined, topk_method: undefined, norm_topk_prob: undefined }));
  assert.equal(c.qLoraRank, null);
  assert.equal(c.scoringFunc, 'softmax');
  assert.equal(c.topkMethod, 'greedy');
  assert.equal(c.normTopkProb, false);
  assert.equal(c.indexer, null);
});

const BAD: Array<[string, Record<string, unknown>, RegExp]> = [
  ['missing key', { hidden_size: undefined }, /config\.json: key "hidden_size": required key is missing/],
  ['wrong type', { num_attention_heads: '4' }, /key "num_attention_heads": must be an integer/],
  ['unknown routing', { scoring_func: 'relu' }, /key "scoring_func": must be one of "softmax", "sigmoid"/],
  ['groups', { n_group: 3 }, /key "n_group": n_routed_experts \(8\) must be divisible by n_group \(3\)/],
  ['indexer width', { index_head_dim: 64 }, /key "index_head_dim": .*must be 128/],
  ['rope scaling', { rope_scaling: { type: 'linear', factor: 2 } }, /rope_scaling\): key "type": only "yarn"/],
  ['GQA', { num_key_value_heads: 1 }, /key "num_key_value_heads": MLA needs/],
  // 8 experts in 2 groups, 1 group kept: only 4 experts are eligible, so a 6th choice is a tie among masked ones
  ['experts beyond the group limit', { n_routed_experts: 8, n_group: 2, topk_group: 1, num_experts_per_tok: 6 }, /key "num_experts_per_tok": 6 experts per token exceed what topk_group \(1\) groups of n_routed_experts \/ n_group \(8 \/ 2 = 4\) experts hold \(4\)/],
  ['one expert per noaux_tc group', { n_routed_experts: 4, n_group: 4, topk_group: 2, num_experts_per_tok: 1 }, /key "n_group": topk_method "noaux_tc" ranks each group by its two best experts/],
];

for (const [what, patch, pattern] of BAD) {
  test(`bad config (${what}) names the file and key`, () => {
    assert.throws(() => parseDeepseekConfig('config.json', { ...v32, ...patch }), (e: unknown) => e instanceof ModelFormatError && pattern.test(e.message));
  });
}
