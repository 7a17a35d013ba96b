// V2 / V3 / V3.2 layouts on random tiny checkpoints: every way of feeding a sequence (one prefill,
// token-by-token decode, chunked prefill, two sequences in one batch) gives the same logits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { openModel } from './open-model.js';
import { loadModel } from './registry.js';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { SingleSequence } from '../engine/single-sequence.js';
import { writeTinyModel } from '../../test/helpers/tiny-models.js';
import type { TinyKind } from '../../test/helpers/tiny-models.js';

const TOKENS = [0, 5, 17, 42, 8, 77, 3, 64, 29, 11, 90, 33];

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const kind of ['deepseek_v2', 'deepseek_v3', 'deepseek_v32'] as TinyKind[]) {
  test(`${kind}: prefill, token-by-token decode, chunked prefill and batching agree`, async () => {
    const dir = writeTinyModel(kind);
    try {
      const model = loadModel(openModel(dir), new RefBackend(), { fp8Activations: 'quant' });
      const V = model.info.vocabSize;
      const n = TOKENS.length;

      const whole = await new SingleSequence(model, { maxTokens: n }).prefill(TOKENS); // [n, V]
      for (const v of whole) assert.ok(Number.isFinite(v));

      const stepwise = new SingleSequence(model, { maxTokens: n });
      const first = await stepwise.prefill(TOKENS.slice(0, 1));
      const rows = [first];
      for (const t of TOKENS.slice(1)) rows.push(await stepwise.decode(t));
      const decoded = new Float32Array(n * V);
      rows.forEach((r, i) => decoded.set(r, i * V));
      // naive and absorbed attention are the same math in bf16 semantics (float rounding only)
      assert.ok(maxDiff(whole, decoded) < 1e-4, `prefill vs decode: ${maxDiff(whole, decoded)}`);

      const chunked = new SingleSequence(model, { maxTokens: n, blockSize: 4 });
      const a = await chunked.prefill(TOKENS.slice(0, 5));
      const b = await chunked.prefill(TOKENS.slice(5));
      const joined = new Float32Array(n * V);
      joined.set(a);
      joined.set(b, a.length);
      assert.ok(maxDiff(whole, joined) < 1e-4, `whole vs chunked prefill: ${maxDiff(whole, joined)}`);

      // Two sequences in one step (one prefilling, one decoding) equal each alone.
      const cache = model.createKvCache(8, 4);
      const tableA = Int32Array.of(0, 1, 2, 3);
      const tableB = Int32Array.of(7, 6, 5, 4);
      await model.forward({ tokens: Int32Array.from(TOKENS.slice(0, 6)), seqs: [{ rowStart: 0, rows: 6, startPos: 0, mode: 'prefill', blockTable: tableB }], logitRows: Int32Array.of(5) }, cache);
      const batched = await model.forward(
        {
          tokens: Int32Array.from([...TOKENS.slice(0, 9), TOKENS[6]!]),
          seqs: [
            { rowStart: 0, rows: 9, startPos: 0, mode: 'prefill', blockTable: tableA },
            { rowStart: 9, rows: 1, startPos: 6, mode: 'decode', blockTable: tableB },
          ],
          logitRows: Int32Array.of(8, 9),
        },
        cache,
      );
      assert.ok(maxDiff(batched.subarray(0, V), whole.subarray(8 * V, 9 * V)) < 1e-4, 'prefill row in a mixed batch');
      assert.ok(maxDiff(batched.subarray(V), whole.subarray(6 * V, 7 * V)) < 1e-4, 'decode row in a mixed batch');
      model.dispose();
    } finally {
      rmSync(dir, { recursive: true });
    }
  });
}
