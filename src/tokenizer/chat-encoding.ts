// Turns an OpenAI chat request into prompt text and token ids. This is the only switch between the
// encodings: a model's Jinja template, or DeepSeek's V3.1 / V3.2 formats implemented in code.
import { ChatTemplateError } from './errors.js';
import { THINK_END, THINK_START } from './deepseek-tokens.js';
import { renderDeepSeekV31 } from './encoding-dsv31.js';
import { renderDeepSeekV32 } from './encoding-dsv32.js';
import { JinjaChatTemplate, selectTemplate } from './encoding-jinja.js';
import { normalizeMessages, normalizeTools } from './messages.js';
import { detectToolCallFormat } from './tool-calls.js';
import { renderToolBlock, templateReadsTools, withSystemBlock } from './tool-prompt.js';
import type { ChatRequest } from './messages.js';
import type { LoadedTokenizer, Tokenizer } from './tokenizer.js';

export type ChatEncodingKind = 'jinja' | 'deepseek-v31' | 'deepseek-v32';

export interface RenderedPrompt {
  readonly text: string;
  /** True when the prompt ends inside an open `<think>` block, so output starts as reasoning. */
  readonly startsInReasoning: boolean;
}

export interface ChatEncoder {
  readonly kind: ChatEncodingKind;
  render(request: ChatRequest): RenderedPrompt;
}

export interface EncodedPrompt extends RenderedPrompt {
  readonly ids: number[];
}

export interface ChatEncodingSignals {
  /** config.json `model_type`. */
  readonly modelType: string | undefined;
  readonly hasChatTemplate: boolean;
  /** Whether `<think>` and `</think>` are single tokens (V3.1 and later). */
  readonly hasThinkTokens: boolean;
}

const DEEPSEEK_V3_TYPES: ReadonlySet<string> = new Set(['deepseek_v3', 'deepseek_v32']);

/**
 * DeepSeek models with think tokens are V3.1+: V3.2 final ships no template (DSML format);
 * V3.1 and V3.2-Exp ship the V3.1 template, which we implement in code to add tool definitions.
 * Everything else uses its own Jinja template.
 */
export function detectChatEncoding(signals: ChatEncodingSignals): ChatEncodingKind | undefined {
  const isDeepSeekV3 = signals.modelType !== undefined && DEEPSEEK_V3_TYPES.has(signals.modelType);
  if (isDeepSeekV3 && signals.hasThinkTokens) return signals.hasChatTemplate ? 'deepseek-v31' : 'deepseek-v32';
  if (signals.hasChatTemplate) return 'jinja';
  if (signals.modelType === 'deepseek_v32') return 'deepseek-v32';
  return undefined;
}

export function chatEncodingSignals(loaded: LoadedTokenizer): ChatEncodingSignals {
  const t = loaded.tokenizer;
  return {
    modelType: loaded.model.modelType,
    hasChatTemplate: loaded.config.chatTemplates.size > 0,
    hasThinkTokens: t.tokenToId(THINK_START) !== undefined && t.tokenToId(THINK_END) !== undefined,
  };
}

/** Builds the encoder for a loaded model; `kind` overrides auto-detection. */
export function createChatEncoder(loaded: LoadedTokenizer, kind: ChatEncodingKind | 'auto' = 'auto'): ChatEncoder {
  const chosen = kind === 'auto' ? detectChatEncoding(chatEncodingSignals(loaded)) : kind;
  switch (chosen) {
    case 'deepseek-v31':
      return deepSeekEncoder('deepseek-v31');
    case 'deepseek-v32':
      return deepSeekEncoder('deepseek-v32');
    case 'jinja':
      return jinjaEncoder(loaded);
    case undefined:
      throw new ChatTemplateError(
        `${loaded.config.path}#chat_template`,
        'the model has no chat template and is not a known DeepSeek release; pass an explicit chat encoding',
      );
  }
}

function deepSeekEncoder(kind: 'deepseek-v31' | 'deepseek-v32'): ChatEncoder {
  const render = kind === 'deepseek-v31' ? renderDeepSeekV31 : renderDeepSeekV32;
  return {
    kind,
    render(request: ChatRequest): RenderedPrompt {
      const messages = normalizeMessages(request.messages);
      const tools = normalizeTools(request.tools);
      const text = render(messages, tools, {
        thinking: request.thinking ?? false,
        addGenerationPrompt: request.addGenerationPrompt ?? true,
      });
      return { text, startsInReasoning: endsInReasoning(text) };
    },
  };
}

function jinjaEncoder(loaded: LoadedTokenizer): ChatEncoder {
  const compiled = new Map<string, JinjaChatTemplate>();
  return {
    kind: 'jinja',
    render(request: ChatRequest): RenderedPrompt {
      let messages = normalizeMessages(request.messages);
      const definitions = normalizeTools(request.tools);
      const tools = request.tools ?? undefined;
      const source = selectTemplate(loaded.config, tools !== undefined && tools.length > 0);
      if (source === undefined) throw new ChatTemplateError(`${loaded.config.path}#chat_template`, 'no chat template found');
      // A template that never reads `tools` would leave the model unaware of them (see tool-prompt.ts).
      const format = definitions.length > 0 && !templateReadsTools(source.template) ? detectToolCallFormat('jinja', source.template) : undefined;
      if (format !== undefined) messages = withSystemBlock(messages, renderToolBlock(format, definitions));
      let template = compiled.get(source.origin);
      if (template === undefined) {
        template = new JinjaChatTemplate(source, loaded.config);
        compiled.set(source.origin, template);
      }
      const text = template.render({
        messages,
        tools,
        thinking: request.thinking ?? false,
        addGenerationPrompt: request.addGenerationPrompt ?? true,
        templateKwargs: request.templateKwargs,
      });
      return { text, startsInReasoning: endsInReasoning(text) };
    },
  };
}

// Some templates (R1) emit "<think>\n"; whitespace after the open tag still means "inside".
function endsInReasoning(text: string): boolean {
  return text.trimEnd().endsWith(THINK_START);
}

/** Renders and tokenizes; special tokens are already spelled out in the text, so none are added. */
export function encodeChat(tokenizer: Tokenizer, encoder: ChatEncoder, request: ChatRequest): EncodedPrompt {
  const rendered = encoder.render(request);
  return { ...rendered, ids: tokenizer.encode(rendered.text, { addSpecialTokens: false }) };
}
