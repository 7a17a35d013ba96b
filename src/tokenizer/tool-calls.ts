// Model output -> OpenAI `tool_calls`, whole-text and streaming. Each format only answers one
// question - "what is certain after this much text?" (a snapshot) - and the streaming parser turns
// successive snapshots into OpenAI deltas. So streamed and non-streamed results agree by design.
import { randomBytes } from 'node:crypto';
import type { ChatEncodingKind } from './chat-encoding.js';
import { TOOL_CALL_BEGIN } from './deepseek-tokens.js';
import { deepSeekV31Format, deepSeekV3Format } from './tool-format-deepseek.js';
import { dsmlFormat } from './tool-format-dsml.js';
import type {
  ParsedToolCalls, ToolCall, ToolCallDelta, ToolCallFormat, ToolCallFormatName, ToolCallIdFactory, ToolStreamDelta,
} from './tool-call-types.js';

const ID_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** `call_` plus 24 random alphanumerics, the shape OpenAI and vLLM use. */
export function newToolCallId(): string {
  const bytes = randomBytes(24);
  let id = 'call_';
  for (const b of bytes) id += ID_ALPHABET[b % ID_ALPHABET.length];
  return id;
}

const FORMATS: Readonly<Record<ToolCallFormatName, ToolCallFormat>> = {
  'deepseek-v3': deepSeekV3Format,
  'deepseek-v31': deepSeekV31Format,
  'deepseek-v32': dsmlFormat,
};

export function getToolCallFormat(name: ToolCallFormatName): ToolCallFormat {
  return FORMATS[name];
}

/**
 * The tool-call syntax a model will produce, given its chat encoding. For Jinja templates we look at
 * how the template itself writes past tool calls (the V3 template puts a ```json fence after the name).
 */
export function detectToolCallFormat(encoding: ChatEncodingKind, template?: string): ToolCallFormatName | undefined {
  if (encoding === 'deepseek-v32') return 'deepseek-v32';
  if (encoding === 'deepseek-v31') return 'deepseek-v31';
  if (template === undefined || !template.includes(TOOL_CALL_BEGIN)) return undefined;
  return template.includes('```json') ? 'deepseek-v3' : 'deepseek-v31';
}

export function parseToolCalls(format: ToolCallFormat, text: string, newId: ToolCallIdFactory = newToolCallId): ParsedToolCalls {
  const snap = format.snapshot(text, true);
  return {
    content: snap.content,
    toolCalls: snap.calls.map((c) => ({ id: newId(), type: 'function', function: { name: c.name, arguments: c.arguments } })),
  };
}

/** Feed content text deltas (after the reasoning split); get OpenAI-style content and tool-call deltas. */
export class ToolCallStreamParser {
  readonly #format: ToolCallFormat;
  readonly #newId: ToolCallIdFactory;
  #buffer = '';
  #sentContent = 0;
  readonly #sent: Array<{ id: string; name: string; arguments: string }> = [];

  constructor(format: ToolCallFormat, newId: ToolCallIdFactory = newToolCallId) {
    this.#format = format;
    this.#newId = newId;
  }

  push(text: string): ToolStreamDelta {
    this.#buffer += text;
    return this.#advance(false);
  }

  /** Call once at the end of generation: releases held-back text and unterminated calls. */
  finish(): ToolStreamDelta {
    return this.#advance(true);
  }

  /** Every tool call seen so far, with the arguments streamed so far. */
  get toolCalls(): readonly ToolCall[] {
    return this.#sent.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } }));
  }

  #advance(final: boolean): ToolStreamDelta {
    const snap = this.#format.snapshot(this.#buffer, final);
    let content = '';
    if (snap.content.length > this.#sentContent) {
      content = snap.content.slice(this.#sentContent);
      this.#sentContent = snap.content.length;
    }
    const toolCalls: ToolCallDelta[] = [];
    snap.calls.forEach((call, index) => {
      let sent = this.#sent[index];
      if (sent === undefined) {
        sent = { id: this.#newId(), name: call.name, arguments: '' };
        this.#sent[index] = sent;
        toolCalls.push({ index, id: sent.id, type: 'function', function: { name: call.name, arguments: '' } });
      }
      if (call.arguments.length > sent.arguments.length && call.arguments.startsWith(sent.arguments)) {
        toolCalls.push({ index, function: { arguments: call.arguments.slice(sent.arguments.length) } });
        sent.arguments = call.arguments;
      }
    });
    // Before any tool call, emitted content can be dropped so long outputs stay O(n).
    if (snap.calls.length === 0 && this.#sentContent > 0) {
      this.#buffer = this.#buffer.slice(this.#sentContent);
      this.#sentContent = 0;
    }
    return { content, toolCalls };
  }
}
