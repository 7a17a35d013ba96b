import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { getToolCallFormat, loadTokenizer } from '../tokenizer/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { OutputProcessor } from './output-processor.js';
import type { OutputOptions, TextDelta } from './output-processor.js';
import { TokenTexts } from './token-bytes.js';

let fixture: FixtureDir;
let tok: Tokenizer;
before(async () => {
  fixture = await makeDeepSeekModelDir('v32');
  tok = (await loadTokenizer(fixture.dir)).tokenizer;
});
after(() => fixture.dispose());

function ids(text: string): number[] {
  return tok.encode(text, { addSpecialTokens: false });
}

/** Feeds ids one at a time; returns every per-token delta and the final one. */
function run(tokens: readonly number[], options: Omit<OutputOptions, 'tokenizer' | 'promptIds'> = {}): { deltas: TextDelta[]; final: TextDelta; p: OutputProcessor; consumed: number } {
  const p = new OutputProcessor({ tokenizer: tok, promptIds: [0], ...options });
  const deltas: TextDelta[] = [];
  let consumed = 0;
  for (const [i, id] of tokens.entries()) {
    consumed++;
    const stopped = p.advance(i, id);
    deltas.push(p.takeThrough(i));
    if (stopped) break;
  }
  return { deltas, final: p.finish(), p, consumed };
}

const joined = (ds: readonly TextDelta[], key: 'content' | 'reasoning') => ds.map((d) => d[key]).join('');

describe('OutputProcessor', () => {
  it('a stop string spanning tokens ends the output at the token that completes it, with no part of it leaked', () => {
    const text = 'The answer is 42.\n\nSTOP here and more';
    const t = ids(text);
    const { deltas, final, p, consumed } = run(t, { stop: ['STOP'] });
    // "ST" and "OP" are separate tokens: the stop completes at "OP".
    assert.equal(consumed, t.indexOf(ids('The answer is 42.\n\nSTOP')[7]!) + 1);
    assert.equal(joined([...deltas, final], 'content'), 'The answer is 42.\n\n');
    for (const d of deltas) assert.ok(!d.content.includes('S'), `no prefix of the stop string leaks: ${JSON.stringify(d.content)}`);
    assert.equal(p.stopString, 'STOP');
  });

  it('include_stop_str_in_output keeps the stop string; a held prefix that does not complete is released', () => {
    const t = ids('The answer is 42.\n\nSTOP here');
    const inc = run(t, { stop: ['STOP'], includeStopString: true });
    assert.equal(joined([...inc.deltas, inc.final], 'content'), 'The answer is 42.\n\nSTOP');
    const miss = run(ids('The answer is 42.\n\nST'), { stop: ['STOP'] });
    assert.equal(miss.deltas.map((d) => d.content).join(''), 'The answer is 42.\n\n', '"ST" is held while it may begin the stop string');
    assert.equal(miss.final.content, 'ST', 'and released at the end');
  });

  it('a stop string earlier than min_tokens does not count', () => {
    const t = ids('Hello world, this is the END of it');
    const early = run(t, { stop: ['world'], minTokens: 5 });
    assert.equal(early.consumed, t.length);
    assert.equal(early.p.stopString, undefined);
    const late = run(t, { stop: ['END'], minTokens: 5 });
    assert.equal(late.p.stopString, 'END');
    assert.equal(joined([...late.deltas, late.final], 'content'), 'Hello world, this is the ');
  });

  it('characters split across tokens are emitted whole, never as U+FFFD', () => {
    const t = ids('😀🎉 中文');
    const { deltas, final } = run(t);
    assert.equal(joined([...deltas, final], 'content'), '😀🎉 中文');
    for (const d of deltas) assert.ok(!d.content.includes('\uFFFD'), JSON.stringify(d.content));
    assert.equal(deltas[0]!.content, '', 'the first half of the emoji waits');
  });

  it('EOS and stop token ids are not decoded; reasoning splits at </think>', () => {
    const t = [...ids('let me think</think>The answer'), 1];
    const { deltas, final } = run(t, { finishIds: new Set([1]), reasoning: { startsInReasoning: true }, skipSpecialTokens: false });
    const all = [...deltas, final];
    assert.equal(joined(all, 'reasoning'), 'let me think');
    assert.equal(joined(all, 'content'), 'The answer');
  });

  it('tool calls stream as OpenAI deltas and appear whole in toolCalls', () => {
    const text = 'Checking.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n</｜DSML｜invoke>\n</｜DSML｜function_calls>';
    const { deltas, final, p } = run(ids(text), { toolFormat: getToolCallFormat('deepseek-v32') });
    const all = [...deltas, final];
    assert.equal(joined(all, 'content'), 'Checking.');
    const calls = all.flatMap((d) => d.toolCalls);
    assert.equal(calls[0]!.function.name, 'get_weather');
    assert.equal(calls.map((c) => c.function.arguments ?? '').join(''), '{"city": "Paris"}');
    assert.deepEqual(p.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Paris"}']]);
  });

  it('a forced tool-call prefix is parsed before the output', () => {
    const { deltas, final, p } = run(ids('{"city": "Rome"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>'), {
      toolFormat: getToolCallFormat('deepseek-v31'),
      toolPrefix: '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>',
    });
    assert.equal(deltas[0]!.toolCalls[0]?.function.name, 'get_weather', 'the call opens with the first delta');
    assert.equal(joined([...deltas, final], 'content'), '');
    assert.deepEqual(p.toolCalls.map((c) => c.function.arguments), ['{"city": "Rome"}']);
  });

  it('advance is idempotent by index (the stop hook and the reader both call it)', () => {
    const t = ids('Hello world');
    const p = new OutputProcessor({ tokenizer: tok, promptIds: [0] });
    p.advance(0, t[0]!);
    p.advance(0, t[0]!);
    p.advance(1, t[1]!);
    assert.equal(p.takeThrough(0).content, 'Hello');
    assert.equal(p.takeThrough(1).content, ' world');
    assert.equal(p.processed, 2);
  });
});

describe('TokenTexts', () => {
  it('gives the exact bytes of byte-level tokens, including halves of a character', () => {
    const texts = new TokenTexts(tok);
    const t = ids('😀 Hello');
    const bytes = t.flatMap((id) => texts.get(id).bytes);
    assert.equal(Buffer.from(bytes).toString('utf8'), '😀 Hello');
    assert.equal(texts.get(t[0]!).text.includes('\uFFFD'), true);
    assert.equal(texts.get(ids('<think>')[0]!).text, '<think>');
  });
});
