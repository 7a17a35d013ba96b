// OpenAI-shaped chat input (as it arrives in a /v1/chat/completions body) and its normalized
// form. Validation happens here once, so every chat encoding can assume well-formed messages.
import { ChatMessageError } from './errors.js';
import { isObject } from './model-files.js';
import { pyJsonDumps } from './py-json.js';

export type ChatRole = 'system' | 'developer' | 'user' | 'assistant' | 'tool';

export interface ChatContentPart {
  readonly type: string;
  readonly text?: string;
}

export interface ChatToolCallInput {
  readonly id?: string;
  readonly type?: 'function';
  /** `arguments` is a JSON string in OpenAI's API; an object is accepted and serialized. */
  readonly function: { readonly name: string; readonly arguments?: string | Readonly<Record<string, unknown>> };
}

export interface ChatMessageInput {
  readonly role: ChatRole;
  readonly content?: string | readonly ChatContentPart[] | null;
  readonly name?: string;
  readonly tool_calls?: readonly ChatToolCallInput[] | null;
  readonly tool_call_id?: string;
  /** vLLM's current name for the reasoning text; `reasoning_content` is the older one. */
  readonly reasoning?: string | null;
  readonly reasoning_content?: string | null;
  /** DeepSeek "prefix completion": the assistant message is a prefix the model continues. */
  readonly prefix?: boolean;
}

export interface ToolFunctionDefinition {
  readonly name: string;
  readonly description?: string;
  readonly parameters?: Readonly<Record<string, unknown>>;
  readonly strict?: boolean;
}

export interface ToolDefinition {
  readonly type: 'function';
  readonly function: ToolFunctionDefinition;
}

export interface ChatRequest {
  readonly messages: readonly ChatMessageInput[];
  readonly tools?: readonly ToolDefinition[] | null;
  /** Thinking mode for hybrid models (V3.1+): the prompt opens a `<think>` block. Default false. */
  readonly thinking?: boolean;
  /** Append the assistant prefix (Jinja and V3.1; V3.2's format always ends user turns with it). Default true. */
  readonly addGenerationPrompt?: boolean;
  /** Extra variables for Jinja templates (vLLM's `chat_template_kwargs`). */
  readonly templateKwargs?: Readonly<Record<string, unknown>>;
}

export interface NormalizedToolCall {
  readonly id: string | undefined;
  readonly name: string;
  /** JSON text, exactly as the client sent it (or Python-style JSON of an object). */
  readonly arguments: string;
}

export interface ChatMessage {
  readonly role: ChatRole;
  readonly content: string | null;
  readonly reasoning: string | null;
  readonly toolCalls: readonly NormalizedToolCall[];
  readonly toolCallId: string | undefined;
  readonly name: string | undefined;
  readonly prefix: boolean;
}

const ROLES: ReadonlySet<string> = new Set(['system', 'developer', 'user', 'assistant', 'tool']);

export function normalizeMessages(messages: readonly unknown[]): ChatMessage[] {
  if (!Array.isArray(messages)) throw new ChatMessageError(-1, 'messages', 'must be an array');
  if (messages.length === 0) throw new ChatMessageError(-1, 'messages', 'must contain at least one message');
  return messages.map((m: unknown, i) => normalizeMessage(m, i));
}

function normalizeMessage(raw: unknown, i: number): ChatMessage {
  const at = `messages[${i}]`;
  if (!isObject(raw)) throw new ChatMessageError(i, at, 'must be an object');
  const role = raw['role'];
  if (typeof role !== 'string' || !ROLES.has(role)) {
    throw new ChatMessageError(i, `${at}.role`, `must be one of ${[...ROLES].join(', ')}`);
  }
  const reasoning = optionalString(raw, 'reasoning', i) ?? optionalString(raw, 'reasoning_content', i) ?? null;
  const toolCalls = role === 'assistant' ? normalizeToolCalls(raw['tool_calls'], i) : [];
  const content = normalizeContent(raw['content'], i);
  if (content === null && role !== 'assistant') throw new ChatMessageError(i, `${at}.content`, `is required for role "${role}"`);
  const toolCallId = optionalString(raw, 'tool_call_id', i);
  const name = optionalString(raw, 'name', i);
  const prefix = raw['prefix'];
  if (prefix !== undefined && typeof prefix !== 'boolean') throw new ChatMessageError(i, `${at}.prefix`, 'must be a boolean');
  return Object.freeze({
    role: role as ChatRole,
    content,
    reasoning,
    toolCalls,
    toolCallId,
    name,
    prefix: prefix === true,
  });
}

function optionalString(raw: Readonly<Record<string, unknown>>, key: string, i: number): string | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new ChatMessageError(i, `messages[${i}].${key}`, 'must be a string');
  return value;
}

// Text parts are joined with "\n", as vLLM does for string-content templates.
function normalizeContent(content: unknown, i: number): string | null {
  if (content === undefined || content === null) return null;
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw new ChatMessageError(i, `messages[${i}].content`, 'must be a string or an array of content parts');
  const texts = content.map((part: unknown, j) => {
    const at = `messages[${i}].content[${j}]`;
    if (!isObject(part)) throw new ChatMessageError(i, at, 'must be an object');
    if (part['type'] !== 'text') throw new ChatMessageError(i, `${at}.type`, `content part type ${JSON.stringify(part['type'])} is not supported (text only)`);
    if (typeof part['text'] !== 'string') throw new ChatMessageError(i, `${at}.text`, 'must be a string');
    return part['text'];
  });
  return texts.join('\n');
}

function normalizeToolCalls(raw: unknown, i: number): NormalizedToolCall[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new ChatMessageError(i, `messages[${i}].tool_calls`, 'must be an array');
  return raw.map((call: unknown, j) => {
    const at = `messages[${i}].tool_calls[${j}]`;
    if (!isObject(call) || !isObject(call['function'])) throw new ChatMessageError(i, `${at}.function`, 'must be an object');
    if (call['type'] !== undefined && call['type'] !== 'function') throw new ChatMessageError(i, `${at}.type`, 'must be "function"');
    const fn = call['function'];
    if (typeof fn['name'] !== 'string' || fn['name'] === '') throw new ChatMessageError(i, `${at}.function.name`, 'must be a non-empty string');
    const args = fn['arguments'];
    let text: string;
    if (args === undefined || args === null) text = '{}';
    else if (typeof args === 'string') text = args;
    else if (isObject(args)) text = pyJsonDumps(args);
    else throw new ChatMessageError(i, `${at}.function.arguments`, 'must be a JSON string');
    const id = call['id'];
    return Object.freeze({ id: typeof id === 'string' ? id : undefined, name: fn['name'], arguments: text });
  });
}

export function normalizeTools(tools: readonly unknown[] | null | undefined): ToolFunctionDefinition[] {
  if (tools === undefined || tools === null) return [];
  if (!Array.isArray(tools)) throw new ChatMessageError(-1, 'tools', 'must be an array');
  return tools.map((tool: unknown, j) => {
    const at = `tools[${j}]`;
    if (!isObject(tool) || tool['type'] !== 'function' || !isObject(tool['function'])) {
      throw new ChatMessageError(-1, at, 'must be {"type": "function", "function": {...}}');
    }
    const fn = tool['function'];
    if (typeof fn['name'] !== 'string' || fn['name'] === '') throw new ChatMessageError(-1, `${at}.function.name`, 'must be a non-empty string');
    if (fn['description'] !== undefined && typeof fn['description'] !== 'string') {
      throw new ChatMessageError(-1, `${at}.function.description`, 'must be a string');
    }
    if (fn['parameters'] !== undefined && !isObject(fn['parameters'])) {
      throw new ChatMessageError(-1, `${at}.function.parameters`, 'must be a JSON schema object');
    }
    return fn as unknown as ToolFunctionDefinition;
  });
}

/** Parses a tool call's JSON arguments into an object; the message index makes the error actionable. */
export function parseToolArguments(call: NormalizedToolCall, messageIndex: number, callIndex: number): Record<string, unknown> {
  const field = `messages[${messageIndex}].tool_calls[${callIndex}].function.arguments`;
  let value: unknown;
  try {
    value = JSON.parse(call.arguments);
  } catch {
    throw new ChatMessageError(messageIndex, field, 'is not valid JSON');
  }
  if (!isObject(value)) throw new ChatMessageError(messageIndex, field, 'must be a JSON object');
  return value;
}
