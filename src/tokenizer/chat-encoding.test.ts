import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createChatEncoder, detectChatEncoding, encodeChat } from './chat-encoding.js';
import { renderDeepSeekV31 } from './encoding-dsv31.js';
import { renderDeepSeekV32 } from './encoding-dsv32.js';
import { JinjaChatTemplate } from './encoding-jinja.js';
import { ChatMessageError, ChatTemplateError } from './errors.js';
import { normalizeMessages } from './messages.js';
import type { ChatMessageInput, ChatRequest, ToolDefinition } from './messages.js';
import { parseTokenizerSettings } from './model-files.js';
import { loadTokenizer } from './tokenizer.js';
import type { LoadedTokenizer } from './tokenizer.js';
import { makeDeepSeekModelDir } from '../../test/helpers/tokenizer-fixture.js';
import type { FixtureDir } from '../../test/helpers/tokenizer-fixture.js';
import { GOLDEN_IDS, GOLDEN_TEXT } from '../../test/helpers/tokenizer-fixture.js';

const FIXTURES = new URL('../../../test/fixtures/tokenizer/', import.meta.url);

const WEATHER_TOOL: ToolDefinition = {
  type: 'function',
  function: {
    name: 'get_weather',
    description: 'Get the weather',
    parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
  },
};

const TOOL_HISTORY: ChatMessageInput[] = [
  { role: 'user', content: 'Weather in Paris and Rome?' },
  {
    role: 'assistant',
    content: null,
    reasoning_content: 'need two calls',
    tool_calls: [
      { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } },
      { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: { city: 'Rome', days: 2 } } },
    ],
  },
  { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
  { role: 'tool', tool_call_id: 'call_2', content: 'rain' },
];

describe('DeepSeek V3.2 encoding', () => {
  let fixture: FixtureDir;
  let loaded: LoadedTokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v32');
    loaded = await loadTokenizer(fixture.dir);
  });
  after(() => fixture.dispose());

  const goldenRequest: ChatRequest = {
    messages: [
      { role: 'user', content: 'hello' },
      { role: 'assistant', content: 'Hello! I am DeepSeek.', reasoning_content: 'thinking...' },
      { role: 'user', content: '1+1=?' },
    ],
    thinking: true,
  };

  it('is auto-detected and reproduces the README golden ids', () => {
    const encoder = createChatEncoder(loaded);
    assert.equal(encoder.kind, 'deepseek-v32');
    const encoded = encodeChat(loaded.tokenizer, encoder, goldenRequest);
    assert.equal(encoded.text, GOLDEN_TEXT);
    assert.deepEqual(encoded.ids, GOLDEN_IDS);
    assert.equal(encoded.startsInReasoning, true);
  });

  it('closes the think block for every user turn in non-thinking mode', () => {
    const encoded = encodeChat(loaded.tokenizer, createChatEncoder(loaded), { ...goldenRequest, thinking: false });
    assert.equal(
      encoded.text,
      '<｜begin▁of▁sentence｜><｜User｜>hello<｜Assistant｜></think>Hello! I am DeepSeek.<｜end▁of▁sentence｜><｜User｜>1+1=?<｜Assistant｜></think>',
    );
    assert.equal(encoded.startsInReasoning, false);
    assert.equal(encoded.ids[encoded.ids.length - 1], 128799);
  });

  it("matches DeepSeek's reference encoder on its published conformance conversation", async () => {
    const input = JSON.parse(await readFile(new URL('dsv32/test_input.json', FIXTURES), 'utf8')) as {
      tools: ToolDefinition[];
      messages: ChatMessageInput[];
    };
    const expected = (await readFile(new URL('dsv32/test_output.txt', FIXTURES), 'utf8')).trim();
    const rendered = createChatEncoder(loaded).render({ messages: input.messages, tools: input.tools, thinking: true });
    assert.equal(rendered.text, expected);
  });

  it('renders DSML tool calls with non-string values as JSON and keeps current-turn reasoning', () => {
    const text = renderDeepSeekV32(normalizeMessages([{ role: 'system', content: 'S' }, ...TOOL_HISTORY]), [], { thinking: true, addGenerationPrompt: true });
    assert.equal(
      text,
      '<｜begin▁of▁sentence｜>S<｜User｜>Weather in Paris and Rome?<｜Assistant｜><think>need two calls</think>\n\n' +
        '<｜DSML｜function_calls>\n' +
        '<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Paris</｜DSML｜parameter>\n</｜DSML｜invoke>\n' +
        '<｜DSML｜invoke name="get_weather">\n<｜DSML｜parameter name="city" string="true">Rome</｜DSML｜parameter>\n' +
        '<｜DSML｜parameter name="days" string="false">2</｜DSML｜parameter>\n</｜DSML｜invoke>\n' +
        '</｜DSML｜function_calls><｜end▁of▁sentence｜>\n\n' +
        '<function_results>\n<result>sunny</result>\n<result>rain</result>\n</function_results>\n\n<think>',
    );
  });

  it('inserts a system message for tools when there is none', () => {
    const text = renderDeepSeekV32(normalizeMessages([{ role: 'user', content: 'hi' }]), [WEATHER_TOOL.function], { thinking: false, addGenerationPrompt: true });
    assert.ok(text.startsWith('<｜begin▁of▁sentence｜>\n\n## Tools\n\nYou have access to a set of tools'));
    assert.ok(
      text.endsWith(
        '<functions>\n{"name": "get_weather", "description": "Get the weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}\n</functions>\n<｜User｜>hi<｜Assistant｜></think>',
      ),
    );
  });

  it('rejects tool results without a preceding tool call, naming the message', () => {
    assert.throws(
      () => createChatEncoder(loaded).render({ messages: [{ role: 'user', content: 'x' }, { role: 'tool', content: 'y' }] }),
      (err: unknown) => err instanceof ChatMessageError && err.index === 1 && err.field === 'messages[1]',
    );
    assert.throws(
      () =>
        createChatEncoder(loaded).render({
          messages: [
            { role: 'user', content: 'x' },
            { role: 'assistant', tool_calls: [{ function: { name: 'f', arguments: 'not json' } }] },
          ],
        }),
      (err: unknown) => err instanceof ChatMessageError && err.field === 'messages[1].tool_calls[0].function.arguments',
    );
  });
});

describe('DeepSeek V3.1 encoding', () => {
  const v31Template = async (): Promise<JinjaChatTemplate> => {
    const template = await readFile(new URL('deepseek-v3.1.jinja', FIXTURES), 'utf8');
    const settings = parseTokenizerSettings('tokenizer_config.json', { bos_token: '<｜begin▁of▁sentence｜>' });
    return new JinjaChatTemplate({ template, origin: 'deepseek-v3.1.jinja' }, settings);
  };

  const conversations: Record<string, ChatMessageInput[]> = {
    single: [{ role: 'user', content: 'Hi' }],
    multiTurn: [
      { role: 'system', content: 'S1' },
      { role: 'system', content: 'S2' },
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'Hello', reasoning_content: 'dropped' },
      { role: 'user', content: '2+2?' },
    ],
    rawThinkInContent: [
      { role: 'user', content: 'Hi' },
      { role: 'assistant', content: 'hidden</think>visible' },
      { role: 'user', content: 'again' },
    ],
    toolHistory: [...TOOL_HISTORY.map((m) => (m.role === 'assistant' ? { ...m, tool_calls: m.tool_calls?.slice(0, 1) } : m)).slice(0, 3), { role: 'assistant', content: 'It is sunny.' }, { role: 'user', content: 'thanks' }],
    endsWithTool: [
      { role: 'user', content: 'Paris?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [{ function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', content: 'sunny' },
    ],
  };

  for (const [name, messages] of Object.entries(conversations)) {
    for (const thinking of [false, true]) {
      for (const addGenerationPrompt of [false, true]) {
        it(`matches the official V3.1 template: ${name}, thinking=${thinking}, generation prompt=${addGenerationPrompt}`, async () => {
          const template = await v31Template();
          const normalized = normalizeMessages(messages);
          const expected = template.render({ messages: normalized, tools: undefined, thinking, addGenerationPrompt, templateKwargs: undefined });
          assert.equal(renderDeepSeekV31(normalized, [], { thinking, addGenerationPrompt }), expected);
        });
      }
    }
  }

  it('drops past reasoning and opens <think> only for the new turn', () => {
    const text = renderDeepSeekV31(normalizeMessages(conversations['multiTurn'] ?? []), [], { thinking: true, addGenerationPrompt: true });
    assert.equal(
      text,
      '<｜begin▁of▁sentence｜>S1\n\nS2<｜User｜>Hi<｜Assistant｜></think>Hello<｜end▁of▁sentence｜><｜User｜>2+2?<｜Assistant｜><think>',
    );
  });

  it('renders tool definitions from the V3.1 model card into the system prompt', () => {
    const text = renderDeepSeekV31(normalizeMessages([{ role: 'system', content: 'S' }, { role: 'user', content: 'Paris?' }]), [WEATHER_TOOL.function], {
      thinking: false,
      addGenerationPrompt: true,
    });
    assert.equal(
      text,
      '<｜begin▁of▁sentence｜>S\n\n## Tools\nYou have access to the following tools:\n\n### get_weather\nDescription: Get the weather\n\n' +
        'Parameters: {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}\n\n' +
        'IMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +
        '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>tool_call_name<｜tool▁sep｜>tool_call_arguments<｜tool▁call▁end｜>{{additional_tool_calls}}<｜tool▁calls▁end｜>\n\n' +
        'Where:\n\n- `tool_call_name` must be an exact match to one of the available tools\n' +
        "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n" +
        '- For multiple tool calls, chain them directly without separators or spaces\n' +
        '<｜User｜>Paris?<｜Assistant｜></think>',
    );
  });

  it('renders tool calls and outputs, and lets the model continue after tool output', () => {
    const text = renderDeepSeekV31(normalizeMessages(TOOL_HISTORY), [], { thinking: true, addGenerationPrompt: true });
    assert.equal(
      text,
      '<｜begin▁of▁sentence｜><｜User｜>Weather in Paris and Rome?<｜Assistant｜></think><｜tool▁calls▁begin｜>' +
        '<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Paris"}<｜tool▁call▁end｜>' +
        '<｜tool▁call▁begin｜>get_weather<｜tool▁sep｜>{"city": "Rome", "days": 2}<｜tool▁call▁end｜>' +
        '<｜tool▁calls▁end｜><｜end▁of▁sentence｜>' +
        '<｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁output▁begin｜>rain<｜tool▁output▁end｜>',
    );
  });

  it('is auto-detected for a V3.1 vocabulary that ships a template, and tokenizes markers as single tokens', async () => {
    const fixture = await makeDeepSeekModelDir('v31');
    try {
      const loaded = await loadTokenizer(fixture.dir);
      const encoder = createChatEncoder(loaded);
      assert.equal(encoder.kind, 'deepseek-v31');
      const encoded = encodeChat(loaded.tokenizer, encoder, { messages: [{ role: 'user', content: 'hello' }], thinking: true });
      assert.deepEqual(encoded.ids, [0, 128803, 33310, 128804, 128798]);
      assert.equal(encoded.startsInReasoning, true);
    } finally {
      await fixture.dispose();
    }
  });
});

describe('Jinja chat templates (DeepSeek V3)', () => {
  let fixture: FixtureDir;
  let loaded: LoadedTokenizer;
  before(async () => {
    fixture = await makeDeepSeekModelDir('v3');
    loaded = await loadTokenizer(fixture.dir);
  });
  after(() => fixture.dispose());

  it('renders the shipped template, including ```json fenced tool calls', () => {
    const encoder = createChatEncoder(loaded);
    assert.equal(encoder.kind, 'jinja');
    const rendered = encoder.render({
      messages: [
        { role: 'system', content: 'S' },
        { role: 'user', content: 'Paris?' },
        { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'get_weather', arguments: '{"city": "Paris"}' } }] },
        { role: 'tool', content: 'sunny' },
        { role: 'assistant', content: 'Sunny.' },
        { role: 'user', content: 'Thanks' },
      ],
    });
    assert.equal(
      rendered.text,
      '<｜begin▁of▁sentence｜>S<｜User｜>Paris?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>' +
        '<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>sunny<｜tool▁output▁end｜><｜tool▁outputs▁end｜>Sunny.<｜end▁of▁sentence｜><｜User｜>Thanks<｜Assistant｜>',
    );
    assert.equal(rendered.startsInReasoning, false);
    const ids = encodeChat(loaded.tokenizer, encoder, { messages: [{ role: 'user', content: 'hello' }] }).ids;
    assert.deepEqual(ids, [0, 128803, 33310, 128804], 'BOS comes from the template, not doubled');
  });

  it('retries a template that fails on a null tool-call content with "", and reports the first failure if that fails too', () => {
    const settings = parseTokenizerSettings('cfg.json', {});
    const messages = normalizeMessages([
      { role: 'user', content: 'q' },
      { role: 'assistant', content: null, tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] },
    ]);
    const input = { messages, tools: undefined, thinking: false, addGenerationPrompt: false, templateKwargs: undefined };
    const strict = "{% for m in messages %}{% if 'x' in m['content'] %}X{% endif %}[{{ m['content'] }}]{% endfor %}";
    assert.equal(new JinjaChatTemplate({ template: strict, origin: 'strict' }, settings).render(input), '[q][]');
    const nullAware = "{% for m in messages %}{{ 'none' if m['content'] is none else m['content'] }};{% endfor %}";
    assert.equal(new JinjaChatTemplate({ template: nullAware, origin: 'aware' }, settings).render(input), 'q;none;', 'null is kept when the template handles it');
    const broken = "{% for m in messages %}{% if 'x' in m['content'] %}{% endif %}{% if m['content'] == '' %}{{ raise_exception('retry failed') }}{% endif %}{% endfor %}";
    assert.throws(
      () => new JinjaChatTemplate({ template: broken, origin: 'broken' }, settings).render(input),
      (err: unknown) => err instanceof ChatTemplateError && /null/.test(err.message) && !/retry failed/.test(err.message),
    );
  });

  it('reports template render failures with their origin', () => {
    const settings = parseTokenizerSettings('cfg.json', {});
    const template = new JinjaChatTemplate({ template: "{{ raise_exception('no system role') }}", origin: 'cfg.json#chat_template' }, settings);
    assert.throws(
      () => template.render({ messages: [], tools: undefined, thinking: false, addGenerationPrompt: true, templateKwargs: undefined }),
      (err: unknown) => err instanceof ChatTemplateError && err.source === 'cfg.json#chat_template' && /no system role/.test(err.message),
    );
  });
});

describe('detectChatEncoding', () => {
  it('picks the format from model type, template presence and think tokens', () => {
    assert.equal(detectChatEncoding({ modelType: 'deepseek_v32', hasChatTemplate: false, hasThinkTokens: true }), 'deepseek-v32');
    assert.equal(detectChatEncoding({ modelType: 'deepseek_v32', hasChatTemplate: true, hasThinkTokens: true }), 'deepseek-v31');
    assert.equal(detectChatEncoding({ modelType: 'deepseek_v3', hasChatTemplate: true, hasThinkTokens: true }), 'deepseek-v31');
    assert.equal(detectChatEncoding({ modelType: 'deepseek_v3', hasChatTemplate: true, hasThinkTokens: false }), 'jinja');
    assert.equal(detectChatEncoding({ modelType: 'llama', hasChatTemplate: true, hasThinkTokens: false }), 'jinja');
    assert.equal(detectChatEncoding({ modelType: 'llama', hasChatTemplate: false, hasThinkTokens: false }), undefined);
    // The R1 distills have think tokens too, but their own template.
    for (const modelType of ['qwen2', 'llama', 'qwen3']) {
      assert.equal(detectChatEncoding({ modelType, hasChatTemplate: true, hasThinkTokens: true }), 'jinja', modelType);
    }
  });
});

describe('message validation', () => {
  it('accepts text content parts and both reasoning field names', () => {
    const [m] = normalizeMessages([{ role: 'assistant', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }], reasoning: 'r' }]);
    assert.equal(m?.content, 'a\nb');
    assert.equal(m?.reasoning, 'r');
  });

  it('names the offending field', () => {
    const cases: Array<[unknown[], string]> = [
      [[{ role: 'robot', content: 'x' }], 'messages[0].role'],
      [[{ role: 'user' }], 'messages[0].content'],
      [[{ role: 'user', content: [{ type: 'image_url', image_url: {} }] }], 'messages[0].content[0].type'],
      [[{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ function: { name: '' } }] }], 'messages[1].tool_calls[0].function.name'],
    ];
    for (const [messages, field] of cases) {
      assert.throws(() => normalizeMessages(messages), (err: unknown) => err instanceof ChatMessageError && err.field === field, field);
    }
  });
});
