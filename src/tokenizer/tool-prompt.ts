// Tool definitions for chat templates that never render them. The R1 distills' and R1-0528's
// templates write past tool calls in DeepSeek V3's syntax but ignore the request's `tools`, so the
// model would never learn which tools exist. When a template's source does not mention `tools`,
// the definitions go into the system prompt the way DeepSeek describes tools to its models (the
// "## Tools" block of the V3.1 model card, which V3.1's template also leaves to the caller),
// spelled in the call syntax the template itself uses, so the model's calls parse with the format
// the output side expects.
import {
  TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_CALLS_BEGIN, TOOL_CALLS_END, TOOL_SEP,
} from './deepseek-tokens.js';
import { renderV31Tools } from './encoding-dsv31.js';
import { renderV32Tools } from './encoding-dsv32.js';
import type { ChatMessage, ToolFunctionDefinition } from './messages.js';
import { pyJsonDumps } from './py-json.js';
import type { ToolCallFormatName } from './tool-call-types.js';

/** Whether a Jinja template reads the `tools` variable (a mention anywhere counts). */
export function templateReadsTools(template: string): boolean {
  return /\btools\b/.test(template);
}

/** The V3.1 model card's tool block, with V3's fenced `function<｜tool▁sep｜>NAME` call body. */
export function renderV3Tools(tools: readonly ToolFunctionDefinition[]): string {
  let text = '## Tools\nYou have access to the following tools:\n';
  for (const tool of tools) {
    text += `\n### ${tool.name}\nDescription: ${tool.description ?? ''}\n\nParameters: ${pyJsonDumps(tool.parameters ?? {})}\n`;
  }
  const call = `${TOOL_CALL_BEGIN}function${TOOL_SEP}tool_call_name\n\`\`\`json\ntool_call_arguments\n\`\`\`${TOOL_CALL_END}`;
  text +=
    '\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +
    `${TOOL_CALLS_BEGIN}${call}{{additional_tool_calls}}${TOOL_CALLS_END}\n\n` +
    'Where:\n\n' +
    '- `tool_call_name` must be an exact match to one of the available tools\n' +
    "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n" +
    `- For multiple tool calls, write each ${TOOL_CALL_BEGIN}…${TOOL_CALL_END} on a new line after the previous one\n`;
  return text;
}

/** The tool block for a call syntax. */
export function renderToolBlock(format: ToolCallFormatName, tools: readonly ToolFunctionDefinition[]): string {
  switch (format) {
    case 'deepseek-v3':
      return renderV3Tools(tools);
    case 'deepseek-v31':
      return renderV31Tools(tools);
    case 'deepseek-v32':
      return renderV32Tools(tools);
  }
}

/**
 * `block` appended to the last system message (R1-Distill's template keeps only the last one;
 * R1-0528's joins them all, so the end of the last is the end of the system prompt in both), or a
 * new system message in front when there is none.
 */
export function withSystemBlock(messages: readonly ChatMessage[], block: string): ChatMessage[] {
  let last = -1;
  messages.forEach((m, i) => {
    if (m.role === 'system') last = i;
  });
  if (last < 0) {
    const system: ChatMessage = { role: 'system', content: block, reasoning: null, toolCalls: [], toolCallId: undefined, name: undefined, prefix: false };
    return [system, ...messages];
  }
  return messages.map((m, i) => (i === last ? { ...m, content: m.content === null || m.content === '' ? block : `${m.content}\n\n${block}` } : m));
}
