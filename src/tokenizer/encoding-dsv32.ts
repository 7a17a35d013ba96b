// DeepSeek-V3.2 prompt format (DeepSeek's encoding/encoding_dsv32.py; the model ships no Jinja
// template). Differences from V3.1: user turns always end with `<｜Assistant｜>` plus `<think>`
// (last user turn in thinking mode) or `</think>`; tool calls are DSML blocks; tool results are
// grouped in <function_results>; reasoning is replayed only for assistant turns after the last
// user message, i.e. within the current agentic turn.
import { ChatMessageError } from './errors.js';
import {
  ASSISTANT, BOS, DSML, DSML_CALLS_BEGIN, DSML_CALLS_END, DSML_INVOKE_END, DSML_INVOKE_OPEN, DSML_PARAM_END, DSML_PARAM_OPEN, EOS, THINK_END,
  THINK_START, USER,
} from './deepseek-tokens.js';
import type { DeepSeekRenderOptions } from './encoding-dsv31.js';
import { parseToolArguments } from './messages.js';
import type { ChatMessage, NormalizedToolCall, ToolFunctionDefinition } from './messages.js';
import { pyJsonDumps } from './py-json.js';

/** The "## Tools" section V3.2 appends to the system prompt. */
export function renderV32Tools(tools: readonly ToolFunctionDefinition[]): string {
  const schemas = tools.map((t) => pyJsonDumps(t)).join('\n');
  return `## Tools

You have access to a set of tools you can use to answer the user's question.
You can invoke functions by writing a "<${DSML}function_calls>" block like the following as part of your reply to the user:
<${DSML}function_calls>
<${DSML}invoke name="$FUNCTION_NAME">
<${DSML}parameter name="$PARAMETER_NAME" string="true|false">$PARAMETER_VALUE</${DSML}parameter>
...
</${DSML}invoke>
<${DSML}invoke name="$FUNCTION_NAME2">
...
</${DSML}invoke>
</${DSML}function_calls>

String and scalar parameters should be specified as is without any escaping or quotes, while lists and objects should use JSON format. The "string" attribute should be set to "true" for string type parameters and "false" for other types (numbers, booleans, arrays, objects).

If the thinking_mode is enabled, then after function results you should strongly consider outputting a thinking block. Here is an example:

<${DSML}function_calls>
...
</${DSML}function_calls>

<function_results>
...
</function_results>

${THINK_START}...thinking about results${THINK_END}

Here are the functions available in JSONSchema format:
<functions>
${schemas}
</functions>
`;
}

/** One DSML `<invoke>`: string values raw, everything else as Python-style JSON. */
export function renderDsmlInvoke(call: NormalizedToolCall, messageIndex: number, callIndex: number): string {
  const args = parseToolArguments(call, messageIndex, callIndex);
  const params = Object.entries(args).map(([key, value]) => {
    const isString = typeof value === 'string';
    const text = isString ? value : pyJsonDumps(value);
    return `${DSML_PARAM_OPEN} name="${key}" string="${isString ? 'true' : 'false'}">${text}${DSML_PARAM_END}`;
  });
  return `${DSML_INVOKE_OPEN} name="${call.name}">\n${params.join('\n')}\n${DSML_INVOKE_END}`;
}

function lastUserIndex(messages: readonly ChatMessage[]): number {
  for (let i = messages.length - 1; i >= 0; i--) {
    const role = messages[i]?.role;
    if (role === 'user' || role === 'developer') return i;
  }
  return -1;
}

/**
 * Renders a whole conversation. Request-level tools go into the first system message (a new
 * empty one is inserted when the conversation has none), which is where DeepSeek's own test puts them.
 * `addGenerationPrompt` is ignored: this format has no separate generation prompt.
 */
export function renderDeepSeekV32(
  input: readonly ChatMessage[],
  tools: readonly ToolFunctionDefinition[],
  options: DeepSeekRenderOptions,
): string {
  const messages = [...input];
  let toolsAt = -1;
  if (tools.length > 0) {
    if (messages[0]?.role !== 'system') {
      messages.unshift({ role: 'system', content: '', reasoning: null, toolCalls: [], toolCallId: undefined, name: undefined, prefix: false });
    }
    toolsAt = 0;
  }
  // Errors must name the caller's index, not the shifted one.
  const offset = messages.length - input.length;
  const lastUser = lastUserIndex(messages);
  const thinking = options.thinking;

  let out = BOS;
  messages.forEach((m, i) => {
    const callerIndex = i - offset;
    switch (m.role) {
      case 'system':
        out += m.content ?? '';
        if (i === toolsAt) out += '\n\n' + renderV32Tools(tools);
        break;
      case 'developer': {
        if (!m.content) throw new ChatMessageError(callerIndex, `messages[${callerIndex}].content`, 'must be non-empty for role "developer"');
        out += `${USER}\n\n# The user's message is: ${m.content}${ASSISTANT}`;
        out += i === lastUser && thinking ? THINK_START : THINK_END;
        break;
      }
      case 'user':
        out += USER + (m.content ?? '') + ASSISTANT;
        out += i === lastUser && thinking ? THINK_START : THINK_END;
        break;
      case 'tool':
        out += renderToolResult(messages, i, offset, lastUser, thinking);
        break;
      case 'assistant': {
        let calls = '';
        if (m.toolCalls.length > 0) {
          const invokes = m.toolCalls.map((c, j) => renderDsmlInvoke(c, callerIndex, j));
          calls = `\n\n${DSML_CALLS_BEGIN}\n${invokes.join('\n')}\n${DSML_CALLS_END}`;
        }
        // Reasoning of earlier turns is dropped; the current turn's reasoning is replayed.
        const reasoning = thinking && i > lastUser ? (m.reasoning ?? '') + THINK_END : '';
        out += reasoning + (m.content ?? '') + calls + EOS;
        break;
      }
    }
  });
  return out;
}

function renderToolResult(messages: readonly ChatMessage[], i: number, offset: number, lastUser: number, thinking: boolean): string {
  const callerIndex = i - offset;
  let owner = i - 1;
  while (owner >= 0 && messages[owner]?.role === 'tool') owner--;
  const assistant = messages[owner];
  const order = i - owner;
  if (assistant === undefined || assistant.role !== 'assistant' || assistant.toolCalls.length === 0) {
    throw new ChatMessageError(callerIndex, `messages[${callerIndex}]`, 'tool message must follow an assistant message with tool_calls');
  }
  if (order > assistant.toolCalls.length) {
    throw new ChatMessageError(callerIndex, `messages[${callerIndex}]`, `more tool results than the ${assistant.toolCalls.length} tool call(s) of messages[${owner - offset}]`);
  }
  let out = order === 1 ? '\n\n<function_results>' : '';
  out += `\n<result>${messages[i]?.content ?? ''}</result>`;
  // Close the block after the last expected result, or early if the client sent fewer.
  const nextIsTool = messages[i + 1]?.role === 'tool';
  if (order === assistant.toolCalls.length || !nextIsTool) {
    out += '\n</function_results>\n\n' + (i >= lastUser && thinking ? THINK_START : THINK_END);
  }
  return out;
}
