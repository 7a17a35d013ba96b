// `tessera tokenize`: token ids of a text or of a chat (the model's chat encoding plus the
// generation prompt), as a JSON array. Reads only config.json and the tokenizer files.
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { isObject } from '../tokenizer/model-files.js';
import type { ChatMessageInput, ToolDefinition } from '../tokenizer/index.js';
import { buildChatPrompt, loadTextTokenizer } from '../text/index.js';
import { UsageError } from './cli-error.js';
import { modelDirFlag } from './common.js';

export const TOKENIZE_USAGE = `tessera tokenize [--model DIR] (--text "..." | --messages FILE.json [--thinking]) [--no-special-tokens]
  Prints the token ids as a JSON array. --messages takes an OpenAI messages array (or {"messages": [...],
  "tools": [...]}) and applies the model's chat encoding with the generation prompt. --text adds BOS as
  the tokenizer config says unless --no-special-tokens. Needs only config.json and the tokenizer files.`;

async function readMessagesFile(path: string): Promise<{ messages: ChatMessageInput[]; tools: ToolDefinition[] | undefined }> {
  let raw: string;
  try {
    raw = await readFile(path, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read --messages file ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch (e) {
    throw new UsageError(`--messages file ${path} is not valid JSON: ${(e as Error).message}`);
  }
  if (Array.isArray(value)) return { messages: value as ChatMessageInput[], tools: undefined };
  if (isObject(value) && Array.isArray(value['messages'])) {
    return { messages: value['messages'] as ChatMessageInput[], tools: value['tools'] as ToolDefinition[] | undefined };
  }
  throw new UsageError(`--messages file ${path} must hold a JSON array of messages or an object with "messages"`);
}

export async function tokenizeCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      text: { type: 'string' },
      messages: { type: 'string' },
      thinking: { type: 'boolean' },
      'no-special-tokens': { type: 'boolean' },
    },
    strict: true,
  });
  if ((values.text === undefined) === (values.messages === undefined)) throw new UsageError('give exactly one of --text or --messages');
  if (values.thinking && values.messages === undefined) throw new UsageError('--thinking applies to --messages only');
  const chatInput = values.messages !== undefined ? await readMessagesFile(values.messages) : null;
  const text = await loadTextTokenizer(modelDirFlag(values.model));
  const ids = chatInput
    ? buildChatPrompt(text, { messages: chatInput.messages, tools: chatInput.tools ?? null, thinking: values.thinking ?? false }).ids
    : text.tokenizer.encode(values.text ?? '', { addSpecialTokens: !values['no-special-tokens'] });
  out(JSON.stringify(ids) + '\n');
}
