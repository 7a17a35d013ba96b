// DeepSeek-V3.1 / V3.2-Exp prompt format: the official V3.1 chat template (which V3.2-Exp also
// ships), plus the tool description block from the V3.1 model card, which the template leaves to
// the caller. Past reasoning is never rendered: the model only sees `</think>` then the answer.
import {
  ASSISTANT, BOS, EOS, THINK_END, THINK_START, TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_CALLS_BEGIN, TOOL_CALLS_END,
  TOOL_OUTPUT_BEGIN, TOOL_OUTPUT_END, TOOL_SEP, USER,
} from './deepseek-tokens.js';
import type { ChatMessage, ToolFunctionDefinition } from './messages.js';
import { pyJsonDumps } from './py-json.js';

export interface DeepSeekRenderOptions {
  readonly thinking: boolean;
  readonly addGenerationPrompt: boolean;
}

/** The "## Tools" block of the V3.1 model card, appended to the system prompt. */
export function renderV31Tools(tools: readonly ToolFunctionDefinition[]): string {
  let text = '## Tools\nYou have access to the following tools:\n';
  for (const tool of tools) {
    text += `\n### ${tool.name}\nDescription: ${tool.description ?? ''}\n\nParameters: ${pyJsonDumps(tool.parameters ?? {})}\n`;
  }
  text +=
    '\nIMPORTANT: ALWAYS adhere to this exact format for tool use:\n' +
    `${TOOL_CALLS_BEGIN}${TOOL_CALL_BEGIN}tool_call_name${TOOL_SEP}tool_call_arguments${TOOL_CALL_END}{{additional_tool_calls}}${TOOL_CALLS_END}\n\n` +
    'Where:\n\n' +
    '- `tool_call_name` must be an exact match to one of the available tools\n' +
    "- `tool_call_arguments` must be valid JSON that strictly follows the tool's Parameters Schema\n" +
    '- For multiple tool calls, chain them directly without separators or spaces\n';
  return text;
}

export function renderDeepSeekV31(
  messages: readonly ChatMessage[],
  tools: readonly ToolFunctionDefinition[],
  options: DeepSeekRenderOptions,
): string {
  // All system (and developer) messages are hoisted to the front, as the template does.
  let system = messages
    .filter((m) => m.role === 'system' || m.role === 'developer')
    .map((m) => m.content ?? '')
    .join('\n\n');
  if (tools.length > 0) system += (system === '' ? '' : '\n\n') + renderV31Tools(tools);

  let out = BOS + system;
  let lastWasUser = false;
  let afterToolOutput = false;
  messages.forEach((m, i) => {
    const isFinal = i === messages.length - 1;
    if (m.role === 'user') {
      afterToolOutput = false;
      lastWasUser = true;
      out += USER + (m.content ?? '');
    } else if (m.role === 'assistant' && m.toolCalls.length > 0) {
      if (lastWasUser) out += ASSISTANT + THINK_END;
      lastWasUser = false;
      afterToolOutput = false;
      out += (m.content ?? '') + TOOL_CALLS_BEGIN;
      for (const call of m.toolCalls) out += TOOL_CALL_BEGIN + call.name + TOOL_SEP + call.arguments + TOOL_CALL_END;
      out += TOOL_CALLS_END + EOS;
    } else if (m.role === 'assistant') {
      if (lastWasUser) out += ASSISTANT + (m.prefix && options.thinking ? THINK_START : THINK_END);
      lastWasUser = false;
      let content = m.content ?? '';
      if (!afterToolOutput) {
        // Clients that echo raw model output send "reasoning</think>answer"; keep the answer only.
        const end = content.indexOf(THINK_END);
        if (end >= 0) content = content.slice(end + THINK_END.length);
      }
      afterToolOutput = false;
      // A final prefix message is continued by the model, so it stays open.
      out += content + (m.prefix && isFinal ? '' : EOS);
    } else if (m.role === 'tool') {
      lastWasUser = false;
      afterToolOutput = true;
      out += TOOL_OUTPUT_BEGIN + (m.content ?? '') + TOOL_OUTPUT_END;
    }
  });
  // After tool outputs the model continues directly, without a new assistant prefix.
  if (options.addGenerationPrompt && lastWasUser && !afterToolOutput) {
    out += ASSISTANT + (options.thinking ? THINK_START : THINK_END);
  }
  return out;
}
