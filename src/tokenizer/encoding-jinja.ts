// Chat templates shipped by the model (tokenizer_config.json `chat_template` or chat_template.jinja),
// rendered with @huggingface/jinja using the variables transformers' apply_chat_template passes.
import { Template } from '@huggingface/jinja';
import { ChatTemplateError } from './errors.js';
import type { ChatMessage, ToolDefinition } from './messages.js';
import type { ChatTemplateSource, TokenizerSettings } from './model-files.js';

export interface JinjaRenderInput {
  readonly messages: readonly ChatMessage[];
  readonly tools: readonly ToolDefinition[] | undefined;
  readonly thinking: boolean;
  readonly addGenerationPrompt: boolean;
  readonly templateKwargs: Readonly<Record<string, unknown>> | undefined;
}

export class JinjaChatTemplate {
  readonly source: ChatTemplateSource;
  readonly #template: Template;
  readonly #specialTokens: Readonly<Record<string, string | undefined>>;

  constructor(source: ChatTemplateSource, settings: TokenizerSettings) {
    this.source = source;
    try {
      this.#template = new Template(source.template);
    } catch (err) {
      throw new ChatTemplateError(source.origin, `cannot parse: ${(err as Error).message}`, err);
    }
    this.#specialTokens = {
      bos_token: settings.bosToken,
      eos_token: settings.eosToken,
      pad_token: settings.padToken,
      unk_token: settings.unkToken,
    };
  }

  render(input: JinjaRenderInput): string {
    try {
      return this.#template.render(this.#context(input, false));
    } catch (err) {
      // Tool-call turns carry content null (OpenAI's shape, and what R1-Distill's template tests
      // with `content is none`), but R1-0528's template applies `'</think>' in content` to every
      // assistant turn first and fails on null, in transformers too. Only then do we retry with ''.
      if (input.messages.some(isNullToolCallTurn)) {
        try {
          return this.#template.render(this.#context(input, true));
        } catch {
          // the first failure is the one to report
        }
      }
      throw new ChatTemplateError(this.source.origin, `render failed: ${(err as Error).message}`, err);
    }
  }

  #context(input: JinjaRenderInput, nullContentAsEmpty: boolean): Record<string, unknown> {
    const context: Record<string, unknown> = {
      ...this.#specialTokens,
      messages: input.messages.map((m) => toTemplateMessage(m, nullContentAsEmpty)),
      add_generation_prompt: input.addGenerationPrompt,
      // V3.1-style templates read `thinking`; Qwen-style ones read `enable_thinking`.
      thinking: input.thinking,
      enable_thinking: input.thinking,
      ...(input.templateKwargs ?? {}),
    };
    if (input.tools !== undefined && input.tools.length > 0) context['tools'] = input.tools;
    return context;
  }
}

/** Picks the "tool_use" template when tools are given and the model has one, as transformers does. */
export function selectTemplate(settings: TokenizerSettings, wantsTools: boolean): ChatTemplateSource | undefined {
  const templates = settings.chatTemplates;
  if (wantsTools) {
    const toolUse = templates.get('tool_use');
    if (toolUse !== undefined) return toolUse;
  }
  return templates.get('default') ?? (templates.size === 1 ? [...templates.values()][0] : undefined);
}

function isNullToolCallTurn(m: ChatMessage): boolean {
  return m.role === 'assistant' && m.content === null && m.toolCalls.length > 0;
}

// Templates test keys with `is defined`, so absent fields must be absent rather than null.
function toTemplateMessage(m: ChatMessage, nullContentAsEmpty: boolean): Record<string, unknown> {
  const content = nullContentAsEmpty && isNullToolCallTurn(m) ? '' : m.content;
  const out: Record<string, unknown> = { role: m.role, content };
  if (m.reasoning !== null) {
    out['reasoning_content'] = m.reasoning;
    out['reasoning'] = m.reasoning;
  }
  if (m.toolCalls.length > 0) {
    out['tool_calls'] = m.toolCalls.map((c) => ({
      ...(c.id === undefined ? {} : { id: c.id }),
      type: 'function',
      function: { name: c.name, arguments: c.arguments },
    }));
  }
  if (m.toolCallId !== undefined) out['tool_call_id'] = m.toolCallId;
  if (m.name !== undefined) out['name'] = m.name;
  if (m.prefix) out['prefix'] = true;
  return out;
}
