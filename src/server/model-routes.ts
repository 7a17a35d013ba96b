// GET /v1/models, POST /tokenize and POST /detokenize (vLLM's shapes).
import { buildChatPrompt } from '../text/index.js';
import type { TextModel } from '../text/index.js';
import type { ChatMessageInput, ToolDefinition } from '../tokenizer/index.js';
import { ApiError, invalid, toApiError } from './api-error.js';
import { Fields } from './fields.js';
import { checkModel } from './handler-context.js';

export function modelCard(tm: TextModel, created: number): Record<string, unknown> {
  return { id: tm.name, object: 'model', created, owned_by: 'tessera', root: tm.name, parent: null, max_model_len: tm.maxModelLen };
}

export function listModels(tm: TextModel, created: number): Record<string, unknown> {
  return { object: 'list', data: [modelCard(tm, created)] };
}

export function getModel(tm: TextModel, created: number, id: string): Record<string, unknown> {
  if (id !== tm.name) throw new ApiError(404, 'invalid_request_error', `The model \`${id}\` does not exist.`, 'model', 'model_not_found');
  return modelCard(tm, created);
}

/** {prompt, add_special_tokens} or {messages, tools, chat_template_kwargs} -> ids (chats always end with the generation prompt, as a completion request would). */
export function tokenize(tm: TextModel, body: unknown): Record<string, unknown> {
  const f = new Fields(body);
  checkModel(f, tm);
  let ids: number[];
  try {
    const messages = f.array('messages', { maxItems: 10_000 });
    if (messages !== undefined) {
      const kwargs = f.object('chat_template_kwargs');
      const thinking = kwargs?.['thinking'] ?? kwargs?.['enable_thinking'] ?? false;
      if (typeof thinking !== 'boolean') throw invalid('chat_template_kwargs.thinking', 'chat_template_kwargs.thinking must be true or false', 'invalid_type');
      ids = buildChatPrompt(tm, {
        messages: messages as readonly ChatMessageInput[],
        tools: (f.array('tools', { maxItems: 256 }) ?? null) as readonly ToolDefinition[] | null,
        thinking,
        ...(kwargs !== undefined ? { templateKwargs: kwargs } : {}),
      }).ids;
    } else {
      const prompt = f.string('prompt');
      if (prompt === undefined) throw invalid('prompt', 'give prompt (a string) or messages', 'missing_required_parameter');
      ids = tm.tokenizer.encode(prompt, { addSpecialTokens: f.bool('add_special_tokens') ?? true });
    }
  } catch (e) {
    throw toApiError(e, f.has('messages') ? 'messages' : 'prompt');
  }
  const strs = f.bool('return_token_strs') ?? false;
  return { count: ids.length, max_model_len: tm.maxModelLen, tokens: ids, ...(strs ? { token_strs: ids.map((id) => tm.tokenTexts.get(id).text) } : {}) };
}

export function detokenize(tm: TextModel, body: unknown): Record<string, unknown> {
  const f = new Fields(body);
  checkModel(f, tm);
  const tokens = f.ints('tokens', { maxItems: 1_000_000, min: 0 });
  if (tokens === undefined) throw invalid('tokens', 'tokens is required', 'missing_required_parameter');
  const vocab = tm.tokenizer.vocabSize;
  tokens.forEach((id, i) => {
    if (id >= vocab) throw invalid(`tokens[${i}]`, `tokens[${i}] is ${id}, outside the vocabulary (${vocab})`);
  });
  return { prompt: tokens.length === 0 ? '' : tm.tokenizer.decode(tokens) };
}
