// POST /v1/chat/completions: messages + tools -> DeepSeek chat encoding -> n choices on the engine
// -> one JSON response, or SSE chunks exactly as OpenAI clients parse them: a role delta first,
// content / reasoning / tool_call deltas, a finish_reason per choice, the include_usage chunk with
// `choices: []`, then `data: [DONE]`.
import { buildChatPrompt, isEmptyDelta } from '../text/index.js';
import type { ChatPrompt, GeneratedToken, TextDelta, TextFinishEvent, ToolChoice } from '../text/index.js';
import type { TokenConstraint } from '../engine/index.js';
import { toolCallSource } from '../grammar/index.js';
import { normalizeTools } from '../tokenizer/index.js';
import type { ChatMessageInput, ToolCall, ToolDefinition } from '../tokenizer/index.js';
import { invalid, toApiError } from './api-error.js';
import { ChoiceSet } from './choices.js';
import { Fields, isJsonObject } from './fields.js';
import { parseGenerationParams } from './generation-params.js';
import type { GenerationParams } from './generation-params.js';
import { admit, checkModel, nowSeconds, usageJson } from './handler-context.js';
import type { HandlerContext } from './handler-context.js';
import { SseWriter, sendJson } from './http-io.js';
import { chatLogprobs } from './logprobs-format.js';
import { makeConstraints, parseStructuredOutput } from './structured-output.js';
import type { StructuredSpec } from './structured-output.js';

interface ParsedChat {
  readonly prompt: ChatPrompt;
  readonly params: GenerationParams;
  readonly structured: StructuredSpec | null;
  /** a forced tool call: the grammar holds its arguments to the tool's schema */
  readonly forcedTools: { readonly tools: readonly unknown[]; readonly name: string | undefined; readonly parallel: boolean } | null;
}

function parseToolChoice(f: Fields): ToolChoice | undefined {
  const v = f.raw['tool_choice'];
  if (v === undefined || v === null) return undefined;
  if (v === 'none' || v === 'auto' || v === 'required') return v;
  if (isJsonObject(v) && v['type'] === 'function' && isJsonObject(v['function']) && typeof v['function']['name'] === 'string') {
    return { name: v['function']['name'] };
  }
  throw invalid('tool_choice', 'tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": ...}}');
}

function thinkingFlag(f: Fields): { thinking: boolean; kwargs: Readonly<Record<string, unknown>> | undefined } {
  const kwargs = f.object('chat_template_kwargs');
  const t = kwargs?.['thinking'] ?? kwargs?.['enable_thinking'];
  if (t !== undefined && typeof t !== 'boolean') throw invalid('chat_template_kwargs.thinking', 'chat_template_kwargs.thinking must be true or false', 'invalid_type');
  return { thinking: t ?? false, kwargs };
}

function parseChat(ctx: HandlerContext, body: unknown): ParsedChat {
  const f = new Fields(body);
  checkModel(f, ctx.tm);
  const messages = f.array('messages', { maxItems: 10_000 });
  if (messages === undefined) throw invalid('messages', 'messages is required', 'missing_required_parameter');
  const tools = f.array('tools', { maxItems: 256 });
  const toolChoice = parseToolChoice(f);
  const structured = parseStructuredOutput(f);
  const forced = toolChoice === 'required' || typeof toolChoice === 'object';
  if (forced && structured) throw invalid(structured.param, `${structured.param} cannot be combined with tool_choice "required" or a named function: the answer is the tool call`, 'unsupported_value');
  const { thinking, kwargs } = thinkingFlag(f);
  const params = parseGenerationParams(f, ctx.tm, 'chat');
  const prompt = buildChatPrompt(ctx.tm, {
    messages: messages as readonly ChatMessageInput[],
    tools: (tools ?? null) as readonly ToolDefinition[] | null,
    ...(toolChoice !== undefined ? { toolChoice } : {}),
    thinking,
    ...(kwargs !== undefined ? { templateKwargs: kwargs } : {}),
    structured: structured !== null,
  });
  const parallel = f.bool('parallel_tool_calls') ?? true;
  const forcedTools = forced ? { tools: tools ?? [], name: typeof toolChoice === 'object' ? toolChoice.name : undefined, parallel } : null;
  return { prompt, params, structured, forcedTools };
}

async function chatConstraints(ctx: HandlerContext, parsed: ParsedChat): Promise<TokenConstraint[]> {
  const n = parsed.params.n;
  if (parsed.structured) return makeConstraints(await ctx.grammar(), parsed.structured, n);
  const format = ctx.tm.toolFormat;
  if (parsed.forcedTools === null || format === null) return [];
  const grammar = await ctx.grammar();
  const tools = normalizeTools(parsed.forcedTools.tools).map((t) => ({ name: t.name, parameters: t.parameters }));
  const source = await toolCallSource(format.name, tools, parsed.forcedTools.name, parsed.forcedTools.parallel, (schema) => grammar.jsonSchemaEbnf(schema));
  return makeConstraints(grammar, { source, param: 'tools' }, n);
}

export async function chatCompletions(ctx: HandlerContext, body: unknown): Promise<void> {
  let parsed: ParsedChat;
  let set: ChoiceSet;
  let constraints: TokenConstraint[] = [];
  try {
    parsed = parseChat(ctx, body);
    admit(ctx, parsed.params.n);
    constraints = await chatConstraints(ctx, parsed);
    const { prompt, params } = parsed;
    set = new ChoiceSet(
      ctx.tm,
      params.sampling.map((sampling, i) => ({
        ...params.request,
        promptIds: prompt.ids,
        sampling,
        ...(params.maxTokens !== undefined ? { maxTokens: params.maxTokens } : {}),
        reasoning: { startsInReasoning: prompt.startsInReasoning },
        toolFormat: prompt.toolFormat,
        toolPrefix: prompt.toolPrefix,
        requestId: `${ctx.requestId}-${i}`,
        ...(constraints[i] ? { constraint: constraints[i] } : {}),
      })),
      ctx.metrics,
      ctx.arrival,
    );
  } catch (e) {
    for (const c of constraints) c.dispose(); // those the engine took are disposed there too, harmlessly
    throw toApiError(e, 'messages');
  }
  const onAbort = () => set.abort();
  ctx.signal.addEventListener('abort', onAbort);
  if (ctx.signal.aborted) set.abort(); // gone while the grammar compiled
  try {
    if (parsed.params.stream) await streamChat(ctx, set, parsed.prompt, parsed.params);
    else await completeChat(ctx, set, parsed.prompt, parsed.params);
  } catch (e) {
    set.abort(); // nothing may keep running for a request that failed
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

function deltaJson(d: TextDelta, reasoningField: string): Record<string, unknown> {
  return {
    ...(d.reasoning !== '' ? { [reasoningField]: d.reasoning } : {}),
    ...(d.content !== '' ? { content: d.content } : {}),
    ...(d.toolCalls.length > 0 ? { tool_calls: d.toolCalls } : {}),
  };
}

async function streamChat(ctx: HandlerContext, set: ChoiceSet, prompt: ChatPrompt, params: GenerationParams): Promise<void> {
  const id = `chatcmpl-${ctx.requestId}`;
  const created = nowSeconds();
  const model = ctx.tm.name;
  const usageField = params.includeUsage ? { usage: null } : {};
  const chunk = (choice: Record<string, unknown>) => ({ id, object: 'chat.completion.chunk', created, model, choices: [choice], ...usageField });
  const sse = new SseWriter(ctx.res, ctx.options.keepAliveMs, ctx.headers);
  for (let index = 0; index < params.n; index++) {
    sse.send(chunk({ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }));
  }
  const pending: GeneratedToken[][] = Array.from({ length: params.n }, () => []);
  const usages: Array<TextFinishEvent['usage'] | undefined> = [];
  const logprobs = (index: number) => {
    if (params.logprobs === null) return null;
    const tokens = pending[index]!.splice(0);
    return { content: chatLogprobs(ctx.tm.tokenTexts, tokens) };
  };
  try {
    for await (const { index, event } of set) {
      if (event.type === 'delta') {
        if (params.logprobs !== null) pending[index]!.push(...event.tokens);
        if (isEmptyDelta(event.delta)) continue;
        sse.send(chunk({ index, delta: deltaJson(event.delta, ctx.options.reasoningField), logprobs: logprobs(index), finish_reason: null }));
      } else {
        usages[index] = event.usage;
        sse.send(chunk({ index, delta: deltaJson(event.delta, ctx.options.reasoningField), logprobs: logprobs(index), finish_reason: event.finishReason, stop_reason: event.stopReason }));
      }
    }
    if (params.includeUsage) sse.send({ id, object: 'chat.completion.chunk', created, model, choices: [], usage: usageJson(prompt.ids.length, usages) });
    sse.done();
  } catch (e) {
    sse.fail(toApiError(e, 'messages'));
  }
}

async function completeChat(ctx: HandlerContext, set: ChoiceSet, prompt: ChatPrompt, params: GenerationParams): Promise<void> {
  const finishes: TextFinishEvent[] = [];
  const tokens: GeneratedToken[][] = Array.from({ length: params.n }, () => []);
  for await (const { index, event } of set) {
    if (event.type === 'delta') {
      if (params.logprobs !== null) tokens[index]!.push(...event.tokens);
    } else finishes[index] = event;
  }
  if (ctx.signal.aborted) return; // the client is gone
  const choices = finishes.map((fin, index) => {
    const toolCalls: readonly ToolCall[] = fin.toolCalls;
    const message: Record<string, unknown> = {
      role: 'assistant',
      content: fin.content === '' && toolCalls.length > 0 ? null : fin.content,
      ...(fin.reasoning !== '' ? { [ctx.options.reasoningField]: fin.reasoning } : {}),
      ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
    };
    return {
      index,
      message,
      logprobs: params.logprobs === null ? null : { content: chatLogprobs(ctx.tm.tokenTexts, tokens[index]!) },
      finish_reason: fin.finishReason,
      stop_reason: fin.stopReason,
    };
  });
  sendJson(
    ctx.res,
    200,
    { id: `chatcmpl-${ctx.requestId}`, object: 'chat.completion', created: nowSeconds(), model: ctx.tm.name, choices, usage: usageJson(prompt.ids.length, finishes.map((f) => f.usage)) },
    ctx.headers,
  );
}
