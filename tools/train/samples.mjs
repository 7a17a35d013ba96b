// Greedy continuations of a few prompts, computed by Tessera (not PyTorch): SingleSequence prefill,
// then argmax decode steps over the KV cache. Run after `npx tsc`:
//   node tools/train/samples.mjs [MODEL_DIR] [--device cpu|js|ref] [--tokens 48] [--dense-attention]
import { parseArgs } from 'node:util';
import { openHfDirectory } from '../../dist/src/formats/hf-directory.js';
import { createBackend } from '../../dist/src/backends/registry.js';
import { loadModel } from '../../dist/src/models/registry.js';
import { SingleSequence, argmax } from '../../dist/src/engine/single-sequence.js';
import { loadTokenizer } from '../../dist/src/tokenizer/index.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { device: { type: 'string', default: 'cpu' }, tokens: { type: 'string', default: '48' }, 'dense-attention': { type: 'boolean' } },
});
const modelDir = positionals[0] ?? 'models/tessera-tiny';
const PROMPTS = [
  'Once upon a time',
  'The meaning of life is',
  'A programmer is a person who',
  'Never trust a',
  'To sort a list in Python, use',
  'The for statement in Python',
];

const { tokenizer } = await loadTokenizer(modelDir);
const dir = openHfDirectory(modelDir);
const model = loadModel(dir, await createBackend(values.device), { fp8Activations: 'quant', denseAttention: values['dense-attention'] ?? false });
const steps = Number(values.tokens);
for (const prompt of PROMPTS) {
  const ids = tokenizer.encode(prompt); // BOS + prompt (add_bos_token)
  const seq = new SingleSequence(model, { maxTokens: ids.length + steps });
  const logits = await seq.prefill(ids);
  let next = argmax(logits.subarray((ids.length - 1) * model.info.vocabSize));
  const out = [];
  for (let s = 0; s < steps && !tokenizer.eosIds.includes(next); s++) {
    out.push(next);
    if (s + 1 < steps) next = argmax(await seq.decode(next));
  }
  console.log(`### ${prompt}\n${prompt}${tokenizer.decode(out)}\n`);
}
model.dispose();
dir.tensors.close();
