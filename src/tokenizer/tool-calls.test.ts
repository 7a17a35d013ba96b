import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { detectToolCallFormat, getToolCallFormat, newToolCallId, parseToolCalls, ToolCallStreamParser } from './tool-calls.js';
import type { ToolCallDelta, ToolCallFormatName, ToolCallIdFactory } from './tool-call-types.js';
import { renderDsmlInvoke } from './encoding-dsv32.js';
import { IncrementalDecoder } from './incremental-decoder.js';
import { ReasoningParser } from './reasoning-parser.js';
import { loadTokenizer } from './tokenizer.js';
import type { Tokenizer } from './tokenizer.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';

function counterIds(): ToolCallIdFactory {
  let n = 0;
  return () => `call_${++n}`;
}

const V31_TEXT =
  'Let me check.<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜>' +
  '<｜tool▁call▁begin｜>get_time<｜tool▁sep｜>{}<｜tool▁call▁end｜><｜tool▁calls▁end｜>';

const V3_TEXT =
  '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris",\n "unit": "C"}\n```<｜tool▁call▁end｜>\n' +
  '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_time\n```json\n{}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>';

const DSML_TEXT =
  'I will look both up.\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="get_weather">\n' +
  '<｜DSML｜parameter name="location" string="true">杭州 "West Lake"\n😀</｜DSML｜parameter>\n' +
  '<｜DSML｜parameter name="days" string="false">3</｜DSML｜parameter>\n' +
  '<｜DSML｜parameter name="opts" string="false">{"units": ["C", "F"], "hourly": true}</｜DSML｜parameter>\n' +
  '<｜DSML｜parameter name="note" string="false">not json</｜DSML｜parameter>\n' +
  '</｜DSML｜invoke>\n<｜DSML｜invoke name="get_time">\n\n</｜DSML｜invoke>\n</｜DSML｜function_calls>';

const EXPECTED: Record<ToolCallFormatName, { text: string; content: string; calls: Array<[string, string]> }> = {
  'deepseek-v31': { text: V31_TEXT, content: 'Let me check.', calls: [['get_weather', '{"city": "Paris"}'], ['get_time', '{}']] },
  'deepseek-v3': { text: V3_TEXT, content: '', calls: [['get_weather', '{"city": "Paris",\n "unit": "C"}'], ['get_time', '{}']] },
  'deepseek-v32': {
    text: DSML_TEXT,
    content: 'I will look both up.',
    calls: [
      ['get_weather', '{"location": "杭州 \\"West Lake\\"\\n😀", "days": 3, "opts": {"units": ["C", "F"], "hourly": true}, "note": "not json"}'],
      ['get_time', '{}'],
    ],
  },
};

interface Collected {
  content: string;
  deltas: ToolCallDelta[];
  calls: Array<[string, string]>;
}

function collect(format: ToolCallFormatName, chunks: readonly string[]): Collected {
  const parser = new ToolCallStreamParser(getToolCallFormat(format), counterIds());
  let content = '';
  const deltas: ToolCallDelta[] = [];
  for (const chunk of [...chunks.map((c) => parser.push(c)), parser.finish()]) {
    content += chunk.content;
    deltas.push(...chunk.toolCalls);
  }
  const calls: Array<[string, string]> = [];
  for (const d of deltas) {
    if (d.id !== undefined) {
      assert.equal(d.type, 'function');
      assert.equal(d.function.arguments, '', 'the opening delta carries no arguments');
      assert.equal(d.index, calls.length, 'calls open in order');
      calls.push([d.function.name ?? '', '']);
    } else {
      assert.equal(d.function.name, undefined, 'argument deltas carry no name');
      const call = calls[d.index];
      assert.ok(call !== undefined, 'arguments only after the opening delta');
      call[1] += d.function.arguments ?? '';
    }
  }
  return { content, deltas, calls };
}

describe('tool-call parsing, whole text', () => {
  for (const [format, expected] of Object.entries(EXPECTED) as Array<[ToolCallFormatName, (typeof EXPECTED)[ToolCallFormatName]]>) {
    it(`parses ${format}`, () => {
      const parsed = parseToolCalls(getToolCallFormat(format), expected.text, counterIds());
      assert.equal(parsed.content, expected.content);
      assert.deepEqual(
        parsed.toolCalls,
        expected.calls.map(([name, args], i) => ({ id: `call_${i + 1}`, type: 'function', function: { name, arguments: args } })),
      );
    });
  }

  it('leaves text without tool calls alone', () => {
    for (const format of ['deepseek-v3', 'deepseek-v31', 'deepseek-v32'] as const) {
      assert.deepEqual(parseToolCalls(getToolCallFormat(format), 'Just text <｜tool▁call 1 < 2\n\n'), { content: 'Just text <｜tool▁call 1 < 2\n\n', toolCalls: [] });
    }
  });

  it('reads back DSML exactly as the V3.2 encoder writes it', () => {
    const args = '{"location": "Hangzhou", "date": "2024-01-16", "days": 2, "flags": [true, null]}';
    const invoke = renderDsmlInvoke({ id: undefined, name: 'get_weather', arguments: args }, 0, 0);
    const parsed = parseToolCalls(getToolCallFormat('deepseek-v32'), `\n\n<｜DSML｜function_calls>\n${invoke}\n</｜DSML｜function_calls>`);
    assert.deepEqual(parsed.toolCalls.map((c) => c.function), [{ name: 'get_weather', arguments: args }]);
  });

  it('closes a call cut off by the length limit', () => {
    const dsml = parseToolCalls(getToolCallFormat('deepseek-v32'), '<｜DSML｜function_calls>\n<｜DSML｜invoke name="f">\n<｜DSML｜parameter name="q" string="true">abc');
    assert.deepEqual(dsml.toolCalls.map((c) => c.function), [{ name: 'f', arguments: '{"q": "abc"}' }]);
    const v31 = parseToolCalls(getToolCallFormat('deepseek-v31'), '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{"q": "ab');
    assert.deepEqual(v31.toolCalls.map((c) => c.function), [{ name: 'f', arguments: '{"q": "ab' }]);
  });

  it('generates OpenAI-style ids', () => {
    const a = newToolCallId();
    assert.match(a, /^call_[A-Za-z0-9]{24}$/);
    assert.notEqual(a, newToolCallId());
  });

  it('detects the format from the chat encoding or template', () => {
    assert.equal(detectToolCallFormat('deepseek-v32'), 'deepseek-v32');
    assert.equal(detectToolCallFormat('deepseek-v31'), 'deepseek-v31');
    assert.equal(detectToolCallFormat('jinja', "{{'<｜tool▁call▁begin｜>' + tool['type'] + '```json'}}"), 'deepseek-v3');
    assert.equal(detectToolCallFormat('jinja', "{{'<｜tool▁call▁begin｜>' + name}}"), 'deepseek-v31');
    assert.equal(detectToolCallFormat('jinja', '{{ messages }}'), undefined);
  });
});

describe('tool-call parsing, streaming', () => {
  it('emits OpenAI deltas: id/type/name first, then argument fragments', () => {
    const chunks = ['Sure', '<｜tool▁calls▁begin｜>', '<｜tool▁call▁begin｜>', 'get', '_weather', '<｜tool▁sep｜>', '{"city"', ': "Paris"}', '<｜tool▁call▁end｜>', '<｜tool▁calls▁end｜>'];
    const parser = new ToolCallStreamParser(getToolCallFormat('deepseek-v31'), counterIds());
    assert.deepEqual(chunks.map((c) => parser.push(c)), [
      { content: 'Sure', toolCalls: [] },
      { content: '', toolCalls: [] },
      { content: '', toolCalls: [] },
      { content: '', toolCalls: [] },
      { content: '', toolCalls: [] },
      { content: '', toolCalls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '' } }] },
      { content: '', toolCalls: [{ index: 0, function: { arguments: '{"city"' } }] },
      { content: '', toolCalls: [{ index: 0, function: { arguments: ': "Paris"}' } }] },
      { content: '', toolCalls: [] },
      { content: '', toolCalls: [] },
    ]);
    assert.deepEqual(parser.finish(), { content: '', toolCalls: [] });
    assert.deepEqual(parser.toolCalls, [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }]);
  });

  it('streams DSML string values as they arrive', () => {
    const parser = new ToolCallStreamParser(getToolCallFormat('deepseek-v32'), counterIds());
    const pushes = ['Ok\n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="s">\n<｜DSML｜parameter name="q" string="true">hel', 'lo</｜DSML', '｜parameter>\n<｜DSML｜parameter name="n" string="false">4', '2</｜DSML｜parameter>\n</｜DSML｜invoke>'];
    assert.deepEqual(pushes.map((p) => parser.push(p)), [
      {
        content: 'Ok',
        toolCalls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 's', arguments: '' } },
          { index: 0, function: { arguments: '{"q": "hel' } },
        ],
      },
      { content: '', toolCalls: [{ index: 0, function: { arguments: 'lo' } }] },
      { content: '', toolCalls: [{ index: 0, function: { arguments: '"' } }] },
      { content: '', toolCalls: [{ index: 0, function: { arguments: ', "n": 42}' } }] },
    ]);
  });

  for (const [format, expected] of Object.entries(EXPECTED) as Array<[ToolCallFormatName, (typeof EXPECTED)[ToolCallFormatName]]>) {
    it(`${format}: every chunking gives the whole-text result (char by char and 2-way splits)`, () => {
      const perChar = collect(format, [...expected.text]);
      assert.equal(perChar.content, expected.content);
      assert.deepEqual(perChar.calls, expected.calls);
      for (let cut = 1; cut < expected.text.length; cut += 7) {
        const split = collect(format, [expected.text.slice(0, cut), expected.text.slice(cut)]);
        assert.equal(split.content, expected.content, `cut at ${cut}`);
        assert.deepEqual(split.calls, expected.calls, `cut at ${cut}`);
      }
    });
  }

  it('releases a held-back partial marker that turns out to be text', () => {
    const v31 = collect('deepseek-v31', ['a <｜tool▁ca', 'lls and more']);
    assert.equal(v31.content, 'a <｜tool▁calls and more');
    const dsml = new ToolCallStreamParser(getToolCallFormat('deepseek-v32'));
    assert.deepEqual(dsml.push('x\n\n<｜DS'), { content: 'x', toolCalls: [] });
    assert.deepEqual(dsml.push('ML is not a call'), { content: '\n\n<｜DSML is not a call', toolCalls: [] });
    assert.deepEqual(dsml.push('\n'), { content: '', toolCalls: [] });
    assert.deepEqual(dsml.finish(), { content: '\n', toolCalls: [] });
  });
});

describe('streaming pipeline on DeepSeek tokens: detokenize -> reasoning -> tool calls', () => {
  let fixture: FixtureDir;
  let tokenizer: Tokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    tokenizer = (await loadTokenizer(fixture.dir)).tokenizer;
  });
  after(() => fixture.dispose());

  for (const format of ['deepseek-v31', 'deepseek-v32'] as const) {
    it(`${format}: token-by-token output matches the whole-text parse`, () => {
      const expected = EXPECTED[format];
      const output = `用户要天气🌤️，先查。</think>${expected.text}<｜end▁of▁sentence｜>`;
      const ids = tokenizer.encode(output, { addSpecialTokens: false });
      assert.ok(ids.includes(128799) && ids[ids.length - 1] === 1);
      const decoder = new IncrementalDecoder(tokenizer, { skipSpecialTokens: true });
      const reasoningParser = new ReasoningParser({ startsInReasoning: true });
      const chunks: string[] = [];
      let reasoning = '';
      for (const id of ids) {
        const delta = reasoningParser.push(decoder.push(id));
        reasoning += delta.reasoning;
        chunks.push(delta.content);
      }
      const tail = reasoningParser.push(decoder.flush());
      const end = reasoningParser.flush();
      reasoning += tail.reasoning + end.reasoning;
      chunks.push(tail.content + end.content);
      assert.equal(reasoning, '用户要天气🌤️，先查。');
      const streamed = collect(format, chunks);
      assert.equal(streamed.content, expected.content);
      assert.deepEqual(streamed.calls, expected.calls);
    });
  }
});
