// POST /v1/completions: raw prompts (a string, token ids, or a list of either) continued as plain
// text. `echo` puts the prompt in front of the text; with `logprobs` it also scores the prompt's
// own tokens (first token: null), the classic way to get prompt logprobs. max_tokens 0 with echo
// only scores.
import type { TokenConstraint } from '../engine/index.js';
import { scorePrompt } from '../text/index.js';
import type { GeneratedToken, PromptTokenLogprob, TextFinishEvent, TextRequest } from '../text/index.js';
import { invalid, toApiError } from './api-error.js';
import { ChoiceSet } from './choices.js';
import { checkNumber, Fields } from './fields.js';
import { parseGenerationParams } from './generation-params.js';
import type { GenerationParams } from './generation-params.js';
import { admit, checkModel, nowSeconds, usageJson } from './handler-context.js';
import type { HandlerContext } from './handler-context.js';
import { SseWriter, sendJson } from './http-io.js';
import { CompletionLogprobsBuilder, concatLogprobs } from './logprobs-format.js';
import type { CompletionLogprobs } from './logprobs-format.js';
import { makeConstraints, parseStructuredOutput } from './structured-output.js';
import type { StructuredSpec } from './structured-output.js';

const MAX_PROMPTS = 64;

interface Prompt {
  readonly ids: number[];
  readonly text: string;
}

function parsePrompts(ctx: HandlerContext, f: Fields): Prompt[] {
  const raw = f.raw['prompt'];
  if (raw === undefined || raw === null) throw invalid('prompt', 'prompt is required', 'missing_required_parameter');
  const tok = ctx.tm.tokenizer;
  const fromText = (text: string): Prompt => ({ ids: tok.encode(text), text });
  const vocab = ctx.tm.model.info.vocabSize;
  const fromIds = (list: readonly unknown[], param: string): Prompt => {
    if (list.length === 0) throw invalid(param, `${param} is empty (no tokens)`);
    const ids = list.map((v, i) => checkNumber(`${param}[${i}]`, v, { int: true, min: 0, max: vocab - 1 })!);
    return { ids, text: tok.decode(ids) };
  };
  let prompts: Prompt[];
  if (typeof raw === 'string') prompts = [fromText(raw)];
  else if (!Array.isArray(raw)) throw invalid('prompt', 'prompt must be a string, an array of strings, an array of token ids or an array of such arrays', 'invalid_type');
  else if (raw.length === 0) throw invalid('prompt', 'prompt must not be empty');
  else if (raw.every((x) => typeof x === 'number')) prompts = [fromIds(raw, 'prompt')];
  else {
    if (raw.length > MAX_PROMPTS) throw invalid('prompt', `at most ${MAX_PROMPTS} prompts per request`);
    prompts = raw.map((p: unknown, i) => {
      if (typeof p === 'string') return fromText(p);
      if (Array.isArray(p)) return fromIds(p, `prompt[${i}]`);
      throw invalid(`prompt[${i}]`, `prompt[${i}] must be a string or an array of token ids`, 'invalid_type');
    });
  }
  prompts.forEach((p, i) => {
    if (p.ids.length === 0) throw invalid(prompts.length > 1 ? `prompt[${i}]` : 'prompt', 'the prompt is empty (no tokens)');
  });
  return prompts;
}

interface ParsedCompletion {
  readonly prompts: Prompt[];
  readonly params: GenerationParams;
  readonly echo: boolean;
  readonly structured: StructuredSpec | null;
}

function parseCompletion(ctx: HandlerContext, body: unknown): ParsedCompletion {
  const f = new Fields(body);
  checkModel(f, ctx.tm);
  const suffix = f.string('suffix');
  if (suffix) throw invalid('suffix', 'suffix is not supported', 'unsupported_value');
  const params = parseGenerationParams(f, ctx.tm, 'completion');
  const bestOf = f.number('best_of', { int: true, min: 1 });
  if (bestOf !== undefined && bestOf !== params.n) throw invalid('best_of', 'best_of other than n is not supported', 'unsupported_value');
  const echo = f.bool('echo') ?? false;
  if (params.maxTokens === 0 && !echo) throw invalid('max_tokens', 'max_tokens must be >= 1 (0 is allowed only with echo)');
  const structured = parseStructuredOutput(f);
  const prompts = parsePrompts(ctx, f);
  return { prompts, params, echo, structured };
}

export async function completions(ctx: HandlerContext, body: unknown): Promise<void> {
  let parsed: ParsedCompletion;
  let set: ChoiceSet | null = null;
  let constraints: TokenConstraint[] = [];
  try {
    parsed = parseCompletion(ctx, body);
    const { prompts, params, structured } = parsed;
    if (params.maxTokens !== 0) {
      admit(ctx, prompts.length * params.n);
      const n = params.n;
      if (structured) constraints = await makeConstraints(await ctx.grammar(), structured, prompts.length * n);
      const requests: TextRequest[] = prompts.flatMap((p, pi) =>
        params.sampling.map((sampling, i) => ({
          ...params.request,
          promptIds: p.ids,
          sampling,
          maxTokens: params.maxTokens,
          requestId: `${ctx.requestId}-${pi}-${i}`,
          ...(constraints[pi * n + i] ? { constraint: constraints[pi * n + i] } : {}),
        })),
      );
      set = new ChoiceSet(ctx.tm, requests, ctx.metrics, ctx.arrival);
    }
  } catch (e) {
    for (const c of constraints) c.dispose(); // those the engine took are disposed there too, harmlessly
    throw toApiError(e, 'prompt');
  }
  const onAbort = () => set?.abort();
  ctx.signal.addEventListener('abort', onAbort);
  if (ctx.signal.aborted) set?.abort(); // gone while the grammar compiled
  try {
    if (parsed.params.stream) await streamCompletion(ctx, set, parsed);
    else await complete(ctx, set, parsed);
  } catch (e) {
    set?.abort(); // nothing may keep running for a request that failed
    throw e;
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
}

/** Echoed prompt text and, with logprobs, its scored tokens, per prompt. */
async function echoes(ctx: HandlerContext, p: ParsedCompletion): Promise<Array<{ text: string; logprobs: CompletionLogprobs | null }>> {
  const out: Array<{ text: string; logprobs: CompletionLogprobs | null }> = [];
  for (const prompt of p.prompts) {
    if (!p.echo) out.push({ text: '', logprobs: null });
    else if (p.params.logprobs === null) out.push({ text: prompt.text, logprobs: null });
    else {
      const scored: PromptTokenLogprob[] = await scorePrompt(ctx.tm.model, prompt.ids, p.params.logprobs, ctx.signal);
      out.push({ text: prompt.text, logprobs: new CompletionLogprobsBuilder(ctx.tm.tokenTexts).build(scored) });
    }
  }
  return out;
}

async function streamCompletion(ctx: HandlerContext, set: ChoiceSet | null, p: ParsedCompletion): Promise<void> {
  const id = `cmpl-${ctx.requestId}`;
  const created = nowSeconds();
  const model = ctx.tm.name;
  const { params } = p;
  const usageField = params.includeUsage ? { usage: null } : {};
  const chunk = (choice: Record<string, unknown>) => ({ id, object: 'text_completion', created, model, choices: [choice], ...usageField });
  const sse = new SseWriter(ctx.res, ctx.options.keepAliveMs, ctx.headers);
  const total = p.prompts.length * params.n;
  const builders: CompletionLogprobsBuilder[] = [];
  const pending: GeneratedToken[][] = Array.from({ length: total }, () => []);
  const usages: Array<TextFinishEvent['usage'] | undefined> = [];
  try {
    const echoed = await echoes(ctx, p);
    for (let index = 0; index < total; index++) {
      const e = echoed[Math.floor(index / params.n)]!;
      builders[index] = new CompletionLogprobsBuilder(ctx.tm.tokenTexts, e.text.length);
      if (p.echo) sse.send(chunk({ index, text: e.text, logprobs: e.logprobs, finish_reason: set ? null : 'length' }));
    }
    const logprobs = (index: number) => (params.logprobs === null ? null : builders[index]!.build(pending[index]!.splice(0)));
    if (set) {
      for await (const { index, event } of set) {
        if (event.type === 'delta') {
          if (params.logprobs !== null) pending[index]!.push(...event.tokens);
          if (event.delta.content === '') continue;
          sse.send(chunk({ index, text: event.delta.content, logprobs: logprobs(index), finish_reason: null }));
        } else {
          usages[index] = event.usage;
          sse.send(chunk({ index, text: event.delta.content, logprobs: logprobs(index), finish_reason: event.finishReason, stop_reason: event.stopReason }));
        }
      }
    }
    if (params.includeUsage) sse.send({ id, object: 'text_completion', created, model, choices: [], usage: promptUsage(p, usages) });
    sse.done();
  } catch (e) {
    sse.fail(toApiError(e, 'prompt'));
  }
}

function promptUsage(p: ParsedCompletion, usages: ReadonlyArray<TextFinishEvent['usage'] | undefined>) {
  const promptTokens = p.prompts.reduce((n, x) => n + x.ids.length, 0);
  return usageJson(promptTokens, usages);
}

async function complete(ctx: HandlerContext, set: ChoiceSet | null, p: ParsedCompletion): Promise<void> {
  const { params } = p;
  const total = p.prompts.length * params.n;
  const finishes: Array<TextFinishEvent | undefined> = [];
  const tokens: GeneratedToken[][] = Array.from({ length: total }, () => []);
  const echoed = await echoes(ctx, p);
  if (set) {
    for await (const { index, event } of set) {
      if (event.type === 'delta') {
        if (params.logprobs !== null) tokens[index]!.push(...event.tokens);
      } else finishes[index] = event;
    }
  }
  if (ctx.signal.aborted) return;
  const choices = Array.from({ length: total }, (_, index) => {
    const e = echoed[Math.floor(index / params.n)]!;
    const fin = finishes[index];
    let logprobs: CompletionLogprobs | null = null;
    if (params.logprobs !== null) {
      const generated = new CompletionLogprobsBuilder(ctx.tm.tokenTexts, e.text.length).build(tokens[index]!);
      logprobs = e.logprobs ? concatLogprobs(e.logprobs, generated) : generated;
    }
    return { index, text: e.text + (fin?.content ?? ''), logprobs, finish_reason: fin?.finishReason ?? 'length', stop_reason: fin?.stopReason ?? null };
  });
  sendJson(
    ctx.res,
    200,
    { id: `cmpl-${ctx.requestId}`, object: 'text_completion', created: nowSeconds(), model: ctx.tm.name, choices, usage: promptUsage(p, finishes.map((f) => f?.usage)) },
    ctx.headers,
  );
}
