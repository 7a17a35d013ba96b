// SingleSequence: prefillLast gives exactly the last row of a full prefill (bench and generation
// read only that row, as llama.cpp does); the cache continues the same way after either.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { RefBackend } from '../backends/ref/ref-backend.js';
import { openModel } from '../models/open-model.js';
import { loadModel } from '../models/registry.js';
import { writeTinyModel } from '../../test/helpers/tiny-models.js';
import { SingleSequence } from './single-sequence.js';

test('prefillLast returns the last row of prefill, and decoding continues identically', async () => {
  const dir = writeTinyModel('deepseek_v3');
  try {
    const m = openModel(dir);
    const model = loadModel(m, new RefBackend(), {});
    try {
      const V = model.info.vocabSize;
      const prompt = [3, 9, 4, 7, 11];
      const all = new SingleSequence(model, { maxTokens: 8 });
      const last = new SingleSequence(model, { maxTokens: 8 });
      const full = await all.prefill(prompt);
      const one = await last.prefillLast(prompt);
      assert.equal(one.length, V);
      assert.deepEqual(Array.from(one), Array.from(full.subarray((prompt.length - 1) * V)));
      assert.deepEqual(Array.from(await last.decode(5)), Array.from(await all.decode(5)));
    } finally {
      model.dispose();
      m.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
