// Dequantization of every GGUF block type against llama.cpp itself (node-llama-cpp's prebuilt CPU
// binary): random blocks of the type (every bit pattern of quants and scales, fp16 scales drawn
// from the normal range) are the token embeddings of a probe model whose hidden state is the
// embedding row exactly (test/helpers/llama-cpp-probe.ts), so llama.cpp's get_rows output comes
// back as float32 values and is compared bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { QUANT_BLOCKS, QUANT_DTYPES, decodeToF32, f32ToF16 } from './dtype.js';
import type { QuantDType } from './dtype.js';
import { encodeF32 } from './gguf-codec.js';
import { uniformSource } from '../conformance/random.js';
import { llamaCppEmbeddings, writeProbeModel } from '../../test/helpers/llama-cpp-probe.js';

const V = 64;
const H = 512; // two K-type blocks, sixteen 32-element blocks per row

/** Byte offsets of each type's fp16 scales (d, m, dmin) in a block (ggml-common.h). */
const HALF_FIELDS: Readonly<Record<QuantDType, readonly number[]>> = {
  Q8_0: [0],
  Q4_0: [0],
  Q4_1: [0, 2],
  Q5_0: [0],
  Q5_1: [0, 2],
  Q2_K: [80, 82],
  Q3_K: [108],
  Q4_K: [0, 2],
  Q5_K: [0, 2],
  Q6_K: [208],
};

/** Random blocks: random bytes, then each fp16 scale a random normal half of either sign (2^-10 .. 2^-4). */
function randomBlocks(dtype: QuantDType, blocks: number, seed: number): Uint8Array {
  const next = uniformSource(seed);
  const { bytes } = QUANT_BLOCKS[dtype];
  const out = Uint8Array.from({ length: blocks * bytes }, () => Math.floor(next() * 256));
  for (let b = 0; b < blocks; b++) {
    for (const at of HALF_FIELDS[dtype]) {
      const h = f32ToF16((next() < 0.5 ? -1 : 1) * (0.5 + next() / 2) * 2 ** -(4 + Math.floor(next() * 7)));
      out[b * bytes + at] = h & 0xff;
      out[b * bytes + at + 1] = h >> 8;
    }
  }
  return out;
}

const identity = encodeF32(Float32Array.from({ length: V * H }, (_, i) => (i % H === Math.floor(i / H) ? 1 : 0)));

test('every GGUF block type dequantizes bit-exactly as llama.cpp does', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tessera-dequant-'));
  try {
    const tokens = Array.from({ length: V }, (_, i) => i);
    for (const [n, dtype] of QUANT_DTYPES.entries()) {
      const bytes = randomBlocks(dtype, (V * H) / QUANT_BLOCKS[dtype].elements, 1000 + n);
      const path = join(dir, `${dtype}.gguf`);
      await writeProbeModel(path, V, H, { type: dtype, bytes }, { type: 'F32', bytes: identity });
      const theirs = await llamaCppEmbeddings(path, tokens);
      const ours = decodeToF32(bytes, dtype);
      let differing = 0;
      let first = '';
      theirs.forEach((row, t) =>
        row.forEach((v, i) => {
          // bit for bit, but for the sign of zero: the probe's residual additions of +0 turn -0 into +0
          if (v === ours[t * H + i]!) return;
          if (!differing) first = `token ${t} element ${i}: llama.cpp ${v}, ours ${ours[t * H + i]}`;
          differing++;
        }),
      );
      assert.equal(differing, 0, `${dtype}: ${differing} of ${V * H} values differ (${first})`);
      assert.ok(new Set(ours).size > V * H / 64, `${dtype}: the random blocks hold few distinct values`);
    }
  } finally {
    rmSync(dir, { recursive: true });
  }
});
