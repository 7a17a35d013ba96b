import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { loadTextModel } from './text-model.js';
import { makeTextModelDir } from '../../test/helpers/text-models.js';

const openFiles = () => readdirSync('/proc/self/fd').length;

// A model that fails after its weights are open (here: a tokenizer larger than the model's
// vocabulary) closes its files and frees its backend before the error reaches the caller.
test('loadTextModel leaves no open files behind when loading fails', { skip: process.platform !== 'linux' && 'counts /proc/self/fd' }, async () => {
  const fixture = await makeTextModelDir('v32', { config: { vocab_size: 96 } });
  try {
    const before = openFiles();
    for (let i = 0; i < 3; i++) {
      await assert.rejects(loadTextModel(fixture.dir, { device: 'ref', warmup: false }), /tokenizer\.json has \d+ tokens but the model's vocab_size is 96/);
    }
    assert.equal(openFiles(), before);
  } finally {
    await fixture.dispose();
  }
});
