// Chat input (OpenAI messages, tools, tool_choice, thinking) -> prompt ids plus what the output
// side needs to read the answer: whether it starts inside a think block and how tool calls look.
// tool_choice "required" or a named function is honoured by writing the opening of the model's own
// tool-call syntax into the prompt; the server's grammar then holds the rest of the call to the
// tool's schema.
import { normalizeTools } from '../tokenizer/index.js';
import type { ChatMessageInput, ChatRequest, ToolCallFormat, ToolDefinition } from '../tokenizer/index.js';
import {
  DSML_CALLS_BEGIN, DSML_INVOKE_OPEN, THINK_END, TOOL_CALL_BEGIN, TOOL_CALLS_BEGIN, TOOL_SEP,
} from '../tokenizer/deepseek-tokens.js';
import { isGgufPath } from '../models/open-model.js';
import type { TextTokenizer } from './text-model.js';

export type ToolChoice = 'none' | 'auto' | 'required' | { readonly name: string };

export interface ChatPromptInput {
  readonly messages: readonly ChatMessageInput[];
  readonly tools?: readonly ToolDefinition[] | null;
  readonly toolChoice?: ToolChoice;
  readonly thinking?: boolean;
  readonly templateKwargs?: Readonly<Record<string, unknown>>;
  /** The answer follows a grammar from its first token, so there is no think block. */
  readonly structured?: boolean;
}

export interface ChatPrompt {
  readonly ids: number[];
  readonly text: string;
  readonly startsInReasoning: boolean;
  /** parse tool calls from the output with this format (null: tools absent, tool_choice none, or unknown format) */
  readonly toolFormat: ToolCallFormat | null;
  /** forced start of a tool call already in the prompt; the output parser reads it first */
  readonly toolPrefix: string;
}

/** Why a chat request cannot be encoded for this model; `param` names the request field. */
export class ChatPromptError extends Error {
  constructor(
    readonly param: string,
    message: string,
  ) {
    super(message);
    this.name = 'ChatPromptError';
  }
}

function forcedPrefix(format: ToolCallFormat, name: string | undefined): string {
  switch (format.name) {
    case 'deepseek-v31':
      return TOOL_CALLS_BEGIN + TOOL_CALL_BEGIN + (name !== undefined ? name + TOOL_SEP : '');
    case 'deepseek-v3':
      return TOOL_CALLS_BEGIN + TOOL_CALL_BEGIN + 'function' + TOOL_SEP + (name !== undefined ? name + '\n```json\n' : '');
    case 'deepseek-v32':
      return `\n\n${DSML_CALLS_BEGIN}\n${DSML_INVOKE_OPEN} name="` + (name !== undefined ? `${name}">\n` : '');
  }
}

export function buildChatPrompt(text: TextTokenizer, input: ChatPromptInput): ChatPrompt {
  if (text.chat === null) {
    const key = isGgufPath(text.dir) ? 'GGUF key tokenizer.chat_template' : 'tokenizer_config.json chat_template';
    throw new ChatPromptError('messages', `the model in ${text.dir} has no chat template (${key}) and is not a known DeepSeek release; use the completions API with a raw prompt`);
  }
  const tools = input.tools ?? [];
  const choice = input.toolChoice ?? 'auto';
  if (choice !== 'none' && choice !== 'auto' && tools.length === 0) {
    throw new ChatPromptError('tool_choice', 'requires tools');
  }
  const forced = choice === 'required' || typeof choice === 'object';
  const toolNames = normalizeTools(tools).map((t) => t.name);
  if (typeof choice === 'object' && !toolNames.includes(choice.name)) {
    throw new ChatPromptError('tool_choice', `names function "${choice.name}", which is not among the tools`);
  }
  const parseTools = tools.length > 0 && choice !== 'none' && text.toolFormat !== null;
  if (forced && text.toolFormat === null) {
    throw new ChatPromptError('tool_choice', `cannot force a tool call: this model's tool-call format is unknown`);
  }
  // A forced call or a grammar starts right away, so there is no room for a think block.
  const noThink = forced || (input.structured ?? false);
  const request: ChatRequest = {
    messages: input.messages,
    tools: tools.length > 0 ? tools : null,
    thinking: noThink ? false : (input.thinking ?? false),
    ...(input.templateKwargs !== undefined ? { templateKwargs: input.templateKwargs } : {}),
  };
  const rendered = text.chat.render(request);
  const prefix = forced && text.toolFormat ? forcedPrefix(text.toolFormat, typeof choice === 'object' ? choice.name : undefined) : '';
  // R1-Distill templates open `<think>\n` whatever `thinking` says; a forced call or a grammar
  // closes that block first, as the model does after reasoning, so the answer is not written inside it.
  const closeThink = noThink && rendered.startsInReasoning ? `${THINK_END}\n\n` : '';
  const fullText = rendered.text + closeThink + prefix;
  // Special tokens are spelled out in the rendered text, so none are added.
  const ids = text.tokenizer.encode(fullText, { addSpecialTokens: false });
  return {
    ids,
    text: fullText,
    startsInReasoning: !noThink && rendered.startsInReasoning,
    toolFormat: parseTools ? text.toolFormat : null,
    toolPrefix: prefix,
  };
}
