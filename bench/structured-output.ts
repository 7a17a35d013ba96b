// What structured output costs per token, on the embedded model (tessera-tiny, 4096-token vocab)
// or --model DIR, CPU backend:
//   1. compile time of a JSON schema, first and cached;
//   2. the grammar work alone per token: mask + accept + applying the mask to a logits row;
//   3. end-to-end decode with --seqs sequences in one batch, unconstrained vs every sequence
//      constrained vs one constrained among unconstrained ones (the others must not slow down).
// node dist/bench/structured-output.js [--model DIR] [--seqs 8] [--tokens 64] [--threads N] [--json]
import { fileURLToPath } from 'node:url';
import { normalizeSamplingParams } from '../src/engine/index.js';
import type { TokenConstraint } from '../src/engine/index.js';
import { applyPenalties } from '../src/engine/sampler.js';
import { GrammarEngine, grammarVocab } from '../src/grammar/index.js';
import type { GrammarSource } from '../src/grammar/index.js';
import { loadTextModel } from '../src/text/index.js';
import { median, parseArgs } from './bench-util.js';

const args = parseArgs(process.argv.slice(2), { model: fileURLToPath(new URL('../../models/tessera-tiny', import.meta.url)), seqs: 8, tokens: 64, threads: 0, json: false });
const tm = await loadTextModel(args.model, { device: 'cpu', ...(args.threads > 0 ? { threads: args.threads } : {}) });
const vocab = tm.model.info.vocabSize;
const grammar = await GrammarEngine.create(grammarVocab(tm.tokenizer, tm.tokenTexts, vocab, tm.engine.config.eosTokenIds));

const schema: GrammarSource = {
  type: 'json',
  schema: JSON.stringify({ type: 'object', properties: { name: { type: 'string' }, age: { type: 'integer' }, tags: { type: 'array', items: { type: 'string' } } }, required: ['name', 'age', 'tags'] }),
};
let t = performance.now();
await grammar.compile(schema);
const compileMs = performance.now() - t;
t = performance.now();
await grammar.compile(schema);
const cachedMs = performance.now() - t;

// 2. Grammar work per token on a valid answer's tokens.
const answer = tm.tokenizer.encode(`{"name": "${'Ada Lovelace '.repeat(8)}", "age": 36, "tags": ["math", "engines", "poetry", "notes"]}`, { addSpecialTokens: false });
const ctx = { params: normalizeSamplingParams({ temperature: 0 }), rng: { nextFloat: () => 0.5 }, promptIds: [], outputIds: [] };
const row = new Float32Array(vocab).map(() => Math.random());
const perToken: number[] = [];
for (let rep = 0; rep < 5; rep++) {
  const c = await grammar.constraint(schema);
  const start = performance.now();
  for (const id of answer) {
    const mask = await c.nextTokenMask();
    applyPenalties(row, { ...ctx, allowedMask: mask });
    if (!c.accept(id)) throw new Error(`token ${id} rejected`);
  }
  perToken.push((performance.now() - start) / answer.length);
  c.dispose();
}
const plain: number[] = [];
for (let rep = 0; rep < 5; rep++) {
  const start = performance.now();
  for (let i = 0; i < answer.length; i++) applyPenalties(row, ctx);
  plain.push((performance.now() - start) / answer.length);
}

// 3. Decode throughput. The constrained answer is a fixed-length string, so every sequence
// generates exactly --tokens tokens, as the unconstrained ones do with ignore_eos.
const long: GrammarSource = { type: 'regex', pattern: `[a-z ]{${args.tokens * 8}}` };
const prompt = tm.tokenizer.encode('Once upon a time');
async function decode(constrained: number): Promise<number> {
  const constraints: TokenConstraint[] = await Promise.all(Array.from({ length: constrained }, () => grammar.constraint(long)));
  const start = performance.now();
  await Promise.all(
    Array.from({ length: args.seqs }, async (_, i) => {
      const c = constraints[i];
      const r = await tm.engine.generate({ promptIds: prompt, sampling: normalizeSamplingParams({ temperature: 1, seed: i }), maxTokens: args.tokens, ...(c ? { constraint: c } : { ignoreEos: true }) });
      if (r.tokenIds.length !== args.tokens) throw new Error(`sequence ${i} stopped after ${r.tokenIds.length} tokens`);
    }),
  );
  return (performance.now() - start) / args.tokens;
}
await decode(0); // warm-up
const runs = { none: [] as number[], all: [] as number[], one: [] as number[] };
for (let rep = 0; rep < 3; rep++) {
  runs.none.push(await decode(0));
  runs.all.push(await decode(args.seqs));
  runs.one.push(await decode(1));
}
await tm.close();

const result = {
  model: args.model,
  vocab,
  seqs: args.seqs,
  tokens: args.tokens,
  compileMs: +compileMs.toFixed(2),
  cachedCompileMs: +cachedMs.toFixed(3),
  grammarUsPerToken: +(median(perToken) * 1000).toFixed(1),
  samplerRowUsWithoutMask: +(median(plain) * 1000).toFixed(1),
  stepMs: { unconstrained: +median(runs.none).toFixed(2), allConstrained: +median(runs.all).toFixed(2), oneConstrained: +median(runs.one).toFixed(2) },
};
if (args.json) console.log(JSON.stringify(result));
else {
  console.log(`model ${result.model} (vocab ${vocab}), ${args.seqs} sequences x ${args.tokens} tokens, cpu`);
  console.log(`compile JSON schema: ${result.compileMs} ms first, ${result.cachedCompileMs} ms cached`);
  console.log(`grammar per token (mask + accept + apply): ${result.grammarUsPerToken} us; sampler row without mask: ${result.samplerRowUsWithoutMask} us`);
  console.log(`decode step: ${result.stepMs.unconstrained} ms unconstrained, ${result.stepMs.allConstrained} ms all constrained, ${result.stepMs.oneConstrained} ms with one constrained`);
}
