// Tensor parallelism over MPI: `mpirun -np 2 tessera logits --tensor-parallel 2` gives the logits
// of one process (within 1e-4 on cpu; only the order of the partial sums differs) and the same
// greedy tokens, for each Llama-family architecture and for DeepSeek-V2 / V3 / V3.2 (tensor and
// expert parallel), from Hugging Face directories (BF16, FP8 block-scaled) and quantized GGUF files. Needs Open MPI's mpirun (CI installs openmpi-bin and sets
// TESSERA_REQUIRE_MPI=1, where a missing mpirun is a failure instead of a skip).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeRandomCheckpoint } from '../conformance/random-checkpoint.js';
import { writeLlamaFamilyGguf } from '../../bench/llama-gguf.js';
import { writeDeepseekGguf } from '../../bench/deepseek-gguf.js';
import { cliPath, runCli } from '../../test/helpers/cli.js';
import { fixturePath } from '../../test/helpers/fixtures.js';
import { makeQwenDistillModel, tinyQwenDistillConfig } from '../../test/helpers/distill-models.js';

const TOLERANCE = 1e-4;
/**
 * as root (CI), on machines with fewer cores than ranks, and in containers that forbid the
 * cross-process memory copies (ptrace scope) Open MPI's shared-memory transport tries first
 */
const MPIRUN = ['--allow-run-as-root', '--oversubscribe', '--mca', 'btl_vader_single_copy_mechanism', 'none', '-np', '2'];
const hasMpirun = spawnSync('mpirun', ['--version']).status === 0;
const skip = hasMpirun ? false : process.env['TESSERA_REQUIRE_MPI'] ? false : 'no mpirun (install openmpi-bin; CI sets TESSERA_REQUIRE_MPI=1)';

const BASE = { vocab_size: 160, num_hidden_layers: 2, rms_norm_eps: 1e-6, max_position_embeddings: 2048, bos_token_id: 0, eos_token_id: 1, hidden_size: 256, intermediate_size: 512, num_attention_heads: 4, num_key_value_heads: 2 };
const MODELS: Record<string, Record<string, unknown>> = {
  llama: { ...BASE, model_type: 'llama', rope_theta: 500000 },
  'qwen2 (q/k/v bias)': { ...BASE, model_type: 'qwen2', rope_theta: 10000 },
  'qwen3 (per-head q/k norms)': { ...BASE, model_type: 'qwen3', head_dim: 64, rope_theta: 1000000 },
};

interface Logits {
  readonly prompt_logits: number[][];
  readonly decode_tokens: number[];
  readonly decode_logits: number[][];
}

const ARGS = ['--tokens', '3,5,7,9,11,13', '--greedy', '4', '--device', 'cpu', '--kv-cache-dtype', 'f32'];

function twoRanks(model: string, extra: readonly string[] = []): Logits {
  const r = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'logits', '--model', model, ...ARGS, '--tensor-parallel', '2', ...extra], { encoding: 'utf8', timeout: 180_000, maxBuffer: 64 << 20 });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout) as Logits; // rank 0 alone prints
}

function oneProcess(model: string): Logits {
  const r = runCli(['logits', '--model', model, ...ARGS]);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as Logits;
}

/** The pid of rank 0 among mpirun's children (Open MPI puts the rank in their environment). */
function rankZeroPid(mpirun: number): number {
  const children = spawnSync('pgrep', ['-P', String(mpirun)], { encoding: 'utf8' }).stdout.trim().split(/\s+/).map(Number);
  const zero = children.find((pid) => readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes('OMPI_COMM_WORLD_RANK=0'));
  if (zero === undefined) throw new Error(`no rank 0 among mpirun's children ${children.join(', ')}`);
  return zero;
}

function maxDiff(a: number[][], b: number[][]): number {
  return Math.max(...a.map((row, i) => Math.max(...row.map((v, j) => Math.abs(v - b[i]![j]!)))));
}

for (const [name, config] of Object.entries(MODELS)) {
  test(`${name}: 2 tensor-parallel ranks under mpirun give one process's logits (HF BF16 and GGUF Q8_0)`, { skip }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-tp-'));
    try {
      const hf = writeRandomCheckpoint(join(dir, 'hf'), config, { seed: 31, dtype: 'BF16' });
      const gguf = join(dir, 'model-q8_0.gguf');
      await writeLlamaFamilyGguf(hf, gguf, { dtype: 'Q8_0' });
      for (const model of [hf, gguf]) {
        const one = oneProcess(model);
        const two = twoRanks(model);
        const d = Math.max(maxDiff(one.prompt_logits, two.prompt_logits), maxDiff(one.decode_logits, two.decode_logits));
        assert.ok(d <= TOLERANCE, `${model}: max |Δ logit| ${d}`);
        assert.deepEqual(two.decode_tokens, one.decode_tokens);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

/** 2 ranks, tensor parallel and expert parallel, against one process. */
function checkDeepseek(model: string): void {
  const one = oneProcess(model);
  for (const extra of [[], ['--expert-parallel']]) {
    const two = twoRanks(model, extra);
    const d = Math.max(maxDiff(one.prompt_logits, two.prompt_logits), maxDiff(one.decode_logits, two.decode_logits));
    assert.ok(d <= TOLERANCE, `${model} ${extra.join(' ')}: max |Δ logit| ${d}`);
    assert.deepEqual(two.decode_tokens, one.decode_tokens, `${model} ${extra.join(' ')}`);
  }
}

const DEEPSEEK_BASE = { vocab_size: 256, hidden_size: 256, num_hidden_layers: 3, num_attention_heads: 4, num_key_value_heads: 4, kv_lora_rank: 64, qk_nope_head_dim: 32, qk_rope_head_dim: 16, v_head_dim: 32, intermediate_size: 256, moe_intermediate_size: 64, n_routed_experts: 8, num_experts_per_tok: 3, first_k_dense_replace: 1, moe_layer_freq: 1, rms_norm_eps: 1e-6, rope_theta: 10000, max_position_embeddings: 4096, bos_token_id: 0, eos_token_id: 1, tie_word_embeddings: false };
const V3_ROUTING = { n_group: 2, topk_group: 1, scoring_func: 'sigmoid', topk_method: 'noaux_tc', norm_topk_prob: true, routed_scaling_factor: 2.5 };

test('DeepSeek-V3.2 goldens model (BF16, and as deepseek32 Q8_0 GGUF): 2 ranks, tensor and expert parallel, give one process\'s logits', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tp-ds-'));
  try {
    const golden = fixturePath('v32-tiny-bf16');
    const gguf = join(dir, 'v32-q8_0.gguf');
    await writeDeepseekGguf(golden, gguf, { dtype: 'Q8_0' });
    checkDeepseek(golden);
    checkDeepseek(gguf);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DeepSeek-V3 (noaux_tc groups; and its attn_kv_b GGUF) and V2 (q_proj, softmax greedy, 2 shared experts): 2 ranks give one process\'s logits', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tp-ds-'));
  try {
    const v3 = writeRandomCheckpoint(join(dir, 'v3'), { ...DEEPSEEK_BASE, ...V3_ROUTING, model_type: 'deepseek_v3', q_lora_rank: 96, n_shared_experts: 1 }, { seed: 7, dtype: 'BF16' });
    const v2 = writeRandomCheckpoint(join(dir, 'v2'), { ...DEEPSEEK_BASE, model_type: 'deepseek_v2', q_lora_rank: null, n_shared_experts: 2, n_group: 1, topk_group: 1, scoring_func: 'softmax', topk_method: 'greedy', norm_topk_prob: false, routed_scaling_factor: 1 }, { seed: 8, dtype: 'BF16' });
    const gguf = join(dir, 'v3-kv_b-q8_0.gguf');
    await writeDeepseekGguf(v3, gguf, { dtype: 'Q8_0', kvB: 'legacy' });
    for (const m of [v3, gguf, v2]) checkDeepseek(m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DeepSeek-V3.2 FP8 block-scaled: splits with its scales on whole 128-blocks; a split inside a block is a one-line error naming the tensor', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tp-fp8-'));
  try {
    // per rank: q_b 2 heads x 128 rows, kv_b 2 x 128, o_proj 128 columns, MLP and expert widths 128
    const config = { ...DEEPSEEK_BASE, ...V3_ROUTING, model_type: 'deepseek_v32', num_hidden_layers: 2, q_lora_rank: 128, kv_lora_rank: 128, qk_nope_head_dim: 64, qk_rope_head_dim: 64, v_head_dim: 64, moe_intermediate_size: 256, n_routed_experts: 4, num_experts_per_tok: 2, n_group: 1, n_shared_experts: 1, index_n_heads: 4, index_head_dim: 128, index_topk: 4 };
    const fp8 = writeRandomCheckpoint(join(dir, 'fp8'), { ...config, quantization_config: { quant_method: 'fp8', fmt: 'e4m3', activation_scheme: 'dynamic', weight_block_size: [128, 128], scale_fmt: 'ue8m0' } }, { seed: 5, dtype: 'FP8' });
    checkDeepseek(fp8);
    const golden = fixturePath('v32-tiny-fp8'); // q_b: 4 heads x 48 rows, 96 per rank
    const s = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'logits', '--model', golden, ...ARGS, '--tensor-parallel', '2'], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(s.status, 0);
    assert.match(s.stderr, /^tessera logits: invalid model: .*model\.safetensors: tensor "model\.layers\.0\.self_attn\.q_b_proj\.weight": cannot split over 2 ranks: 96 rows per rank are not whole 128-row blocks of its FP8 scales$/m);
    assert.doesNotMatch(s.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench under mpirun -np 2 --tensor-parallel 2 --expert-parallel: rank 0 alone prints, with the time in collectives per decoded token', { skip }, () => {
  const r = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'bench', '--model', fixturePath('v32-tiny-bf16'), '--prompt-tokens', '16', '--gen-tokens', '8', '--threads', '1', '--tensor-parallel', '2', '--expert-parallel', '--json'], { encoding: 'utf8', timeout: 180_000 });
  assert.equal(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.length, 1, r.stdout);
  const row = JSON.parse(lines[0]!) as Record<string, unknown>;
  assert.equal(row['tensor_parallel'], 2);
  assert.equal(row['expert_parallel'], true);
  assert.equal(row['prompt_tokens'], 16);
  const comm = row['collective_ms_per_token'] as number;
  const step = row['decode_ms_per_token'] as number;
  assert.ok(comm > 0 && comm < step, `collectives ${comm} ms of a ${step} ms step`);
});

test('run with the embedded DeepSeek-V3.2 model (DSA, MoE) under 2 ranks, tensor and expert parallel: the text of one process', { skip }, () => {
  const args = ['--prompt', 'To sort a list in Python, use', '--max-tokens', '16', '--temperature', '0.7', '--seed', '11'];
  const one = runCli(['run', ...args]);
  assert.equal(one.code, 0, one.stderr);
  assert.ok(one.stdout.trim().length > 0);
  for (const extra of [[], ['--expert-parallel']]) {
    const two = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'run', ...args, '--tensor-parallel', '2', ...extra], { encoding: 'utf8', timeout: 180_000 });
    assert.equal(two.status, 0, two.stderr);
    assert.equal(two.stdout, one.stdout, extra.join(' '));
  }
});

test('--tensor-parallel outside mpirun, or for an architecture that cannot split, is a one-line error', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-tp-bad-'));
  try {
    const hf = writeRandomCheckpoint(join(dir, 'hf'), MODELS['llama']!, { seed: 31, dtype: 'BF16' });
    const r = runCli(['logits', '--model', hf, ...ARGS, '--tensor-parallel', '2'], { env: { OMPI_COMM_WORLD_SIZE: '', PMIX_SIZE: '' } });
    assert.equal(r.code, 2, 'a usage error');
    assert.match(r.stderr, /^tessera logits: --tensor-parallel 2 runs as 2 processes: start it with mpirun -np 2 tessera/);
    const ep = runCli(['logits', '--model', hf, ...ARGS, '--expert-parallel']);
    assert.equal(ep.code, 2, 'a usage error');
    assert.match(ep.stderr, /^tessera logits: --expert-parallel splits the experts over the ranks of --tensor-parallel N: give N > 1/);
    const three = writeRandomCheckpoint(join(dir, 'three'), { ...MODELS['llama']!, num_attention_heads: 3, hidden_size: 192, num_key_value_heads: 3 }, { seed: 31, dtype: 'BF16' });
    const s = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'logits', '--model', three, ...ARGS, '--tensor-parallel', '2'], { encoding: 'utf8', timeout: 120_000 });
    assert.notEqual(s.status, 0);
    assert.match(s.stderr, /num_attention_heads.*3 does not split over 2 tensor-parallel ranks/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('run and serve under mpirun -np 2 --tensor-parallel 2: the text of one process; SIGTERM drains and every rank exits 0', { skip }, async () => {
  const m = await makeQwenDistillModel(3);
  try {
    // the distill test model with heads and K/V heads that split over 2 ranks (its tokenizer files stay)
    writeRandomCheckpoint(m.dir, { ...tinyQwenDistillConfig(), hidden_size: 64, intermediate_size: 128, num_attention_heads: 4, num_key_value_heads: 2 }, { seed: 3, dtype: 'BF16' });
    const args = ['--model', m.dir, '--prompt', 'Hello there', '--max-tokens', '12', '--temperature', '0.8', '--seed', '5'];
    const one = runCli(['run', ...args]);
    assert.equal(one.code, 0, one.stderr);
    assert.ok(one.stdout.length > 0);
    const two = spawnSync('mpirun', [...MPIRUN, process.execPath, cliPath, 'run', ...args, '--tensor-parallel', '2'], { encoding: 'utf8', timeout: 180_000 });
    assert.equal(two.status, 0, two.stderr);
    assert.equal(two.stdout, one.stdout, 'rank 0 alone prints, the same text');

    const port = 18000 + Math.floor(Math.random() * 2000);
    const server = spawn('mpirun', [...MPIRUN, process.execPath, cliPath, 'serve', '--model', m.dir, '--port', String(port), '--tensor-parallel', '2'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => server.on('exit', (code) => resolve(code)));
    try {
      const deadline = Date.now() + 120_000;
      while (!/ready: model/.test(stderr)) {
        if (Date.now() > deadline) throw new Error(`serve did not get ready: ${stderr}`);
        await new Promise((r) => setTimeout(r, 200));
      }
      const res = await fetch(`http://127.0.0.1:${port}/v1/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt: 'Hello there', max_tokens: 12, temperature: 0.8, seed: 5 }) });
      assert.equal(res.status, 200);
      const body = (await res.json()) as { choices: Array<{ text: string }> };
      assert.equal(body.choices[0]!.text, one.stdout.replace(/\n$/, ''));
    } finally {
      // rank 0 ends the job (mpirun itself answers SIGTERM by aborting every rank, exit 1)
      process.kill(rankZeroPid(server.pid!), 'SIGTERM');
    }
    assert.equal(await exited, 0, stderr);
    assert.match(stderr, /drained; bye/);
  } finally {
    await m.dispose();
  }
});
