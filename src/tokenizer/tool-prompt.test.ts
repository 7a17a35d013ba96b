// Tool definitions for templates that never render `tools` (the R1 distills', R1-0528's, V3.1's):
// written into the system prompt in the template's own call syntax; templates that read `tools`
// are left to render them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createChatEncoder } from './chat-encoding.js';
import { renderDeepSeekV31 } from './encoding-dsv31.js';
import { normalizeMessages, normalizeTools } from './messages.js';
import type { ChatMessageInput, ToolDefinition } from './messages.js';
import { parseGenerationDefaults, parseModelInfo, parseTokenizerSettings } from './model-files.js';
import type { JsonObject } from './model-files.js';
import type { LoadedTokenizer, Tokenizer } from './tokenizer.js';
import { getToolCallFormat, parseToolCalls } from './tool-calls.js';
import { renderV3Tools, templateReadsTools } from './tool-prompt.js';
import { distillTokenizerConfig } from '../../test/helpers/distill-tokenizers.js';

const WEATHER: ToolDefinition = {
  type: 'function',
  function: { name: 'get_weather', description: 'Get the weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};
const CLOCK: ToolDefinition = { type: 'function', function: { name: 'now', parameters: { type: 'object', properties: {} } } };

const V3_BLOCK =
  '## Tools\nYou have access to the following tools:\n\n### get_weather\nDescription: Get the weather\n\n' +
  'Parameters: {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}\n\n' +
  'IMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +
  '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>tool_call_name\n```json\ntool_call_arguments\n```<｜tool▁call▁end｜>{{additional_tool_calls}}<｜tool▁calls▁end｜>\n\n' +
  'Where:\n\n- `tool_call_name` must be an exact match to one of the available tools\n' +
  "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n" +
  '- For multiple tool calls, write each <｜tool▁call▁begin｜>…<｜tool▁call▁end｜> on a new line after the previous one\n';

const BOS = '<｜begin▁of▁sentence｜>';
const ASK: ChatMessageInput[] = [{ role: 'user', content: 'Weather in Paris?' }];

// Rendering reads only the tokenizer config, so no 150k-token vocabulary is built here.
const NO_TOKENIZER = new Proxy({}, { get: () => { throw new Error('not used by rendering'); } }) as Tokenizer;
function templateOnly(config: JsonObject): LoadedTokenizer {
  return { dir: 'x', tokenizer: NO_TOKENIZER, config: parseTokenizerSettings('tokenizer_config.json', config), generation: parseGenerationDefaults(undefined, undefined), model: parseModelInfo(undefined, undefined) };
}
const render = (loaded: LoadedTokenizer, messages: ChatMessageInput[], tools?: ToolDefinition[]): string =>
  createChatEncoder(loaded, 'jinja').render({ messages, ...(tools ? { tools } : {}) }).text;

describe('tool definitions for templates that do not render them', () => {
  it('R1-Distill: a system message of the V3 tool block, in the syntax the template writes past calls in', async () => {
    const distill = templateOnly(await distillTokenizerConfig('qwen-distill'));
    assert.equal(render(distill, ASK, [WEATHER]), `${BOS}${V3_BLOCK}<｜User｜>Weather in Paris?<｜Assistant｜><think>\n`);
    assert.equal(render(distill, ASK, []), render(distill, ASK), 'no tools, no block');

    // The template keeps only the last system message: the block goes at its end.
    const systems: ChatMessageInput[] = [{ role: 'system', content: 'First.' }, { role: 'system', content: 'Be terse.' }, ...ASK];
    assert.ok(render(distill, systems, [WEATHER]).startsWith(`${BOS}Be terse.\n\n${V3_BLOCK}<｜User｜>`));

    // What the block describes is what the template writes for a past call, and what the parser reads.
    const call = { id: 'c1', type: 'function' as const, function: { name: 'get_weather', arguments: '{"city": "Paris"}' } };
    const history = render(distill, [...ASK, { role: 'assistant', content: null, tool_calls: [call] }, { role: 'tool', content: 'sunny' }]);
    const described = '<｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜>';
    assert.ok(history.includes(described), history);
    const parsed = parseToolCalls(getToolCallFormat('deepseek-v3'), `<｜tool▁calls▁begin｜>${described}<｜tool▁calls▁end｜>`);
    assert.deepEqual(parsed.toolCalls.map((c) => [c.function.name, c.function.arguments]), [['get_weather', '{"city": "Paris"}']]);
  });

  it('R1-0528: the block ends the joined system prompt; every tool is listed', async () => {
    const r1 = templateOnly(await distillTokenizerConfig('r1-0528-qwen3'));
    const text = render(r1, [{ role: 'system', content: 'A' }, { role: 'system', content: 'B' }, ...ASK], [WEATHER, CLOCK]);
    assert.equal(text, `${BOS}A\n\nB\n\n${renderV3Tools(normalizeTools([WEATHER, CLOCK]))}<｜User｜>Weather in Paris?<｜Assistant｜>`);
    assert.match(text, /### now\nDescription: \n\nParameters: \{"type": "object", "properties": \{\}\}\n/);
  });

  it("V3.1's template through Jinja gets the V3.1 model card's block: the same prompt as the V3.1 encoder", async () => {
    const template = await readFile(new URL('../../../test/fixtures/tokenizer/deepseek-v3.1.jinja', import.meta.url), 'utf8');
    const v31 = templateOnly({ bos_token: BOS, chat_template: template });
    const messages: ChatMessageInput[] = [{ role: 'system', content: 'S' }, ...ASK];
    const expected = renderDeepSeekV31(normalizeMessages(messages), normalizeTools([WEATHER]), { thinking: false, addGenerationPrompt: true });
    assert.equal(render(v31, messages, [WEATHER]), expected);
  });

  it('leaves templates that read `tools` alone', () => {
    const template = '{{ bos_token }}{% if tools %}[{{ tools | length }} tools]{% endif %}{% for m in messages %}<｜User｜>{{ m.content }}{% endfor %}<｜tool▁call▁begin｜>```json';
    assert.equal(templateReadsTools(template), true);
    assert.equal(render(templateOnly({ bos_token: BOS, chat_template: template }), ASK, [WEATHER]), `${BOS}[1 tools]<｜User｜>Weather in Paris?<｜tool▁call▁begin｜>\`\`\`json`);
    assert.equal(templateReadsTools("{% if message['tool_calls'] %}<｜tool▁outputs▁begin｜>{% endif %}"), false);
  });

  it('adds nothing when the call syntax is unknown (no DeepSeek tool markers in the template)', () => {
    const plain = templateOnly({ bos_token: BOS, chat_template: '{% for m in messages %}{{ m.role }}: {{ m.content }}\n{% endfor %}' });
    assert.equal(render(plain, ASK, [WEATHER]), 'user: Weather in Paris?\n');
  });
});
