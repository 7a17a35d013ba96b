import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { loadTextTokenizer } from '../text/index.js';
import { GrammarEngine } from './grammar-engine.js';
import { choiceSource, GrammarSpecError } from './grammar-source.js';
import type { GrammarSource } from './grammar-source.js';
import { toolCallSource } from './tool-call-grammar.js';
import { grammarVocab } from './vocab.js';

const TINY = fileURLToPath(new URL('../../../models/tessera-tiny', import.meta.url));

async function engine(): Promise<{ grammar: GrammarEngine; encode: (text: string) => number[]; eos: number }> {
  const text = await loadTextTokenizer(TINY);
  const eos = text.tokenizer.eosIds[0]!;
  const grammar = await GrammarEngine.create(grammarVocab(text.tokenizer, text.tokenTexts, 4096, [eos]));
  return { grammar, encode: (s) => text.tokenizer.encode(s, { addSpecialTokens: false }), eos };
}

const allowed = (mask: Int32Array, id: number): boolean => ((mask[id >> 5]! >>> (id & 31)) & 1) === 1;

/** Feeds `text` token by token; returns whether every token and then EOS was allowed. */
async function accepts(grammar: GrammarEngine, source: GrammarSource, ids: number[], eos: number): Promise<boolean> {
  const c = await grammar.constraint(source);
  try {
    for (const id of [...ids, eos]) {
      if (!allowed(await c.nextTokenMask(), id) || !c.accept(id)) return false;
    }
    return true;
  } finally {
    c.dispose();
  }
}

test('grammars from schemas, regexes, choices and EBNF accept what they describe, and EOS only at the end', async () => {
  const { grammar, encode, eos } = await engine();
  const schema: GrammarSource = { type: 'json', schema: JSON.stringify({ type: 'object', properties: { a: { type: 'integer' }, b: { enum: ['x', 'y'] } }, required: ['a', 'b'] }) };
  assert.equal(await accepts(grammar, schema, encode('{"a": 12, "b": "y"}'), eos), true);
  assert.equal(await accepts(grammar, schema, encode('{"a": 12}'), eos), false);
  assert.equal(await accepts(grammar, { type: 'json', schema: null }, encode('{"k": [1, {"z": null}]}'), eos), true);
  assert.equal(await accepts(grammar, { type: 'regex', pattern: '[a-z]+@[a-z]+\\.com' }, encode('bob@example.com'), eos), true);
  assert.equal(await accepts(grammar, choiceSource(['red "dark"', 'blue']), encode('red "dark"'), eos), true);
  assert.equal(await accepts(grammar, choiceSource(['red', 'blue']), encode('green'), eos), false);
  assert.equal(await accepts(grammar, { type: 'ebnf', text: 'root ::= "(" [0-9]+ ")"' }, encode('(42)'), eos), true);
  // the second compile of a source is a cache hit
  const size = grammar.cacheSize;
  await grammar.compile(schema);
  assert.equal(grammar.cacheSize, size);
});

test('bad schemas, regexes and grammars are errors naming the problem, and the engine keeps working', async () => {
  const { grammar, encode, eos } = await engine();
  for (let i = 0; i < 5; i++) {
    await assert.rejects(grammar.compile({ type: 'json', schema: '{"type": "nope"}' }), (e: unknown) => e instanceof GrammarSpecError && /Unsupported type "nope"/.test(e.message));
    await assert.rejects(grammar.compile({ type: 'regex', pattern: '([a-z' }), GrammarSpecError);
    await assert.rejects(grammar.compile({ type: 'ebnf', text: 'root ::= "a" b' }), (e: unknown) => e instanceof GrammarSpecError && /Rule "b" is not defined/.test(e.message));
  }
  assert.equal(await accepts(grammar, { type: 'regex', pattern: 'ok' }, encode('ok'), eos), true);
});

test('a forced DSML tool call follows the tool schema', async () => {
  const { grammar, encode, eos } = await engine();
  const tools = [
    { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' }, days: { type: 'integer' } }, required: ['city'] } },
    { name: 'noop', parameters: undefined },
  ];
  const ebnf = (schema: string) => grammar.jsonSchemaEbnf(schema);
  const named = await toolCallSource('deepseek-v32', tools, 'get_weather', true, ebnf);
  const call = '<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>';
  assert.equal(await accepts(grammar, named, encode(call), eos), true);
  assert.equal(await accepts(grammar, named, encode(call.replace('>3<', '>"3"<')), eos), false);
  const required = await toolCallSource('deepseek-v32', tools, undefined, true, ebnf);
  assert.equal(await accepts(grammar, required, encode(`noop">\n</｜DSML｜invoke>\n<｜DSML｜invoke name="get_weather">\n${call}`), eos), true);
  const v3 = await toolCallSource('deepseek-v3', tools, 'get_weather', false, ebnf);
  assert.equal(await accepts(grammar, v3, encode('{"city": "Oslo"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>'), eos), true);
});
