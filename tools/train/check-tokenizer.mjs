// Checks that Tessera's tokenizer (loadTokenizer -> @huggingface/tokenizers) encodes every training
// document and held-out file exactly as tools/train's Python encoder did, and decodes back to the
// same text. Run after `npx tsc` and encode_ids.py:
//   node tools/train/check-tokenizer.mjs MODEL_DIR WORK_DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadTokenizer } from '../../dist/src/tokenizer/index.js';

const [modelDir = 'models/tessera-tiny', work = 'tmp/tessera-tiny-train'] = process.argv.slice(2);
const { tokenizer } = await loadTokenizer(modelDir);
const lines = readFileSync(join(work, 'python-ids.jsonl'), 'utf8').split('\n').filter((l) => l.length > 0);
let tokens = 0;
let bad = 0;
for (const [i, line] of lines.entries()) {
  const { text, ids } = JSON.parse(line);
  const got = tokenizer.encode(text, { addSpecialTokens: false });
  tokens += got.length;
  const same = got.length === ids.length && got.every((id, j) => id === ids[j]);
  const back = tokenizer.decode(got);
  if (!same || back !== text) {
    bad++;
    const j = got.findIndex((id, k) => id !== ids[k]);
    console.error(`text ${i}: ${same ? 'ids equal' : `ids differ at ${j}: ${got.slice(j, j + 5)} vs ${ids.slice(j, j + 5)}`}; ${back === text ? 'round trip ok' : 'round trip differs'}`);
  }
}
const bos = tokenizer.encode('x')[0];
console.log(`${lines.length} texts, ${tokens} tokens, ${bad} mismatches; vocab ${tokenizer.vocabSize}; BOS added: ${bos === tokenizer.bosId} (id ${tokenizer.bosId}); EOS ${tokenizer.eosIds}`);
process.exit(bad === 0 ? 0 : 1);
