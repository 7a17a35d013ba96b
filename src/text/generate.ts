// A request for one choice: prompt ids + options in, a stream of text deltas and one finish event
// out. This is the only generation loop: `tessera run`, `tessera chat` and the server all use it.
import type { LLMEngine, RequestHandle, SamplingParams, TokenConstraint, TokenLogprob, Usage } from '../engine/index.js';
import type { Tokenizer, ToolCall, ToolCallFormat } from '../tokenizer/index.js';
import { OutputProcessor } from './output-processor.js';
import type { TextDelta } from './output-processor.js';

export interface TextRequest {
  readonly requestId?: string;
  readonly promptIds: readonly number[];
  readonly sampling: SamplingParams;
  readonly maxTokens?: number;
  readonly minTokens?: number;
  readonly stop?: readonly string[];
  readonly stopTokenIds?: readonly number[];
  readonly includeStopString?: boolean;
  readonly ignoreEos?: boolean;
  readonly skipSpecialTokens?: boolean;
  readonly cacheSalt?: string;
  /** Split `<think>` reasoning from content (chat); null or absent = plain text. */
  readonly reasoning?: { readonly startsInReasoning: boolean } | null;
  readonly toolFormat?: ToolCallFormat | null;
  readonly toolPrefix?: string;
  /** Structured output; the engine owns it once this request is queued. */
  readonly constraint?: TokenConstraint;
}

/** One generated token with its logprob facts (when sampling.logprobs). */
export interface GeneratedToken {
  readonly id: number;
  readonly logprob?: number;
  readonly topLogprobs?: readonly TokenLogprob[];
}

export interface DeltaEvent {
  readonly type: 'delta';
  readonly delta: TextDelta;
  /** tokens whose text this delta completes (its text may come later, when a character is split) */
  readonly tokens: readonly GeneratedToken[];
}

export type TextFinishReason = 'stop' | 'length' | 'abort' | 'tool_calls';

export interface TextFinishEvent {
  readonly type: 'finish';
  /** text released at the end (held-back stop prefixes, incomplete characters) */
  readonly delta: TextDelta;
  readonly finishReason: TextFinishReason;
  /** vLLM's stop_reason: the stop string or stop token id that ended the output, else null */
  readonly stopReason: string | number | null;
  readonly usage: Usage;
  readonly content: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCall[];
}

export type TextEvent = DeltaEvent | TextFinishEvent;

export interface TextStream extends AsyncIterable<TextEvent> {
  readonly requestId: string;
  abort(): void;
}

export interface GenerationContext {
  readonly engine: LLMEngine;
  readonly tokenizer: Tokenizer;
}

/**
 * Queues the request on the engine. Throws the engine's typed errors (context length, validation)
 * synchronously, before anything is streamed, so callers can answer with a clean error.
 */
export function generateText(ctx: GenerationContext, req: TextRequest): TextStream {
  const finishIds = new Set<number>(req.stopTokenIds ?? []);
  if (!req.ignoreEos) for (const id of ctx.engine.config.eosTokenIds) finishIds.add(id);
  const out = new OutputProcessor({
    tokenizer: ctx.tokenizer,
    promptIds: req.promptIds,
    stop: req.stop ?? [],
    includeStopString: req.includeStopString ?? false,
    minTokens: req.minTokens ?? 0,
    finishIds,
    skipSpecialTokens: req.skipSpecialTokens ?? true,
    reasoning: req.reasoning ?? null,
    toolFormat: req.toolFormat ?? null,
    toolPrefix: req.toolPrefix ?? '',
  });
  const handle: RequestHandle = ctx.engine.addRequest({
    ...(req.requestId !== undefined ? { requestId: req.requestId } : {}),
    promptIds: req.promptIds,
    sampling: req.sampling,
    ...(req.maxTokens !== undefined ? { maxTokens: req.maxTokens } : {}),
    ...(req.minTokens !== undefined ? { minTokens: req.minTokens } : {}),
    ...(req.stopTokenIds !== undefined ? { stopTokenIds: req.stopTokenIds } : {}),
    ...(req.ignoreEos !== undefined ? { ignoreEos: req.ignoreEos } : {}),
    ...(req.cacheSalt !== undefined ? { cacheSalt: req.cacheSalt } : {}),
    ...(req.constraint !== undefined ? { constraint: req.constraint } : {}),
    // Runs synchronously inside the engine step: a matched stop string ends the request before
    // the next forward.
    ...((req.stop ?? []).length > 0 ? { stopCheck: (id: number, ids: readonly number[]) => out.advance(ids.length - 1, id) } : {}),
  });
  return {
    requestId: handle.requestId,
    abort: () => handle.abort(),
    [Symbol.asyncIterator]: () => events(handle, out, new Set(req.stopTokenIds ?? [])),
  };
}

async function* events(handle: RequestHandle, out: OutputProcessor, stopTokenIds: ReadonlySet<number>): AsyncGenerator<TextEvent> {
  for await (const ev of handle) {
    if (ev.type === 'token') {
      out.advance(ev.index, ev.tokenId);
      const token: GeneratedToken = {
        id: ev.tokenId,
        ...(ev.logprob !== undefined ? { logprob: ev.logprob, topLogprobs: ev.topLogprobs ?? [] } : {}),
      };
      yield { type: 'delta', delta: out.takeThrough(ev.index), tokens: [token] };
      continue;
    }
    const delta = out.finish();
    let finishReason: TextFinishReason = ev.finishReason;
    // EOS is the normal end and reports null; a requested stop_token_id reports itself (as vLLM).
    let stopReason: string | number | null = ev.stopTokenId !== null && stopTokenIds.has(ev.stopTokenId) ? ev.stopTokenId : null;
    // A stop string in the last token wins over 'length' (vLLM checks stop strings first).
    if (out.stopString !== undefined && ev.finishReason !== 'abort') {
      finishReason = 'stop';
      stopReason = out.stopString;
    }
    if (finishReason === 'stop' && out.toolCalls.length > 0) finishReason = 'tool_calls';
    yield {
      type: 'finish',
      delta,
      finishReason,
      stopReason,
      usage: ev.usage,
      content: out.content,
      reasoning: out.reasoningText,
      toolCalls: out.toolCalls,
    };
    return;
  }
}
