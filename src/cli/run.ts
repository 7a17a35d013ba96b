// `tessera run`: one prompt in, the answer streamed to stdout as it is generated, stats on stderr.
import { parseArgs } from 'node:util';
import { normalizeSamplingParams, SamplingParamsError } from '../engine/index.js';
import type { SamplingParams } from '../engine/index.js';
import { buildChatPrompt, generateText, loadTextModel } from '../text/index.js';
import { followAndClose, tensorParallelFlag } from './tensor-parallel.js';
import type { TextFinishEvent, TextModel, TextModelOptions, TextRequest } from '../text/index.js';
import { UsageError } from './cli-error.js';
import { ENGINE_FLAG_OPTIONS, ENGINE_FLAGS_USAGE, modelDirFlag, parseIntFlag, parseNumberFlag, requireFlag, textModelFlags } from './common.js';
import { createLoadProgress } from './progress.js';
import { statsLine, TextPrinter } from './text-output.js';

export const RUN_USAGE = `tessera run [--model DIR] --prompt "..." [--chat] [--system "..."] [--thinking] [--hide-reasoning]
    [--max-tokens 256] [--temperature T] [--top-p P] [--top-k K] [--seed S] [--stop STR ...] [--ignore-eos]
    ${ENGINE_FLAGS_USAGE}
  Streams the continuation of --prompt (or, with --chat, the answer to it as a user message) to stdout;
  prints token counts and tokens/s to stderr. Without --model, uses the embedded model.`;

/** Sampling flags shared by run and chat. */
export const SAMPLING_FLAG_OPTIONS = {
  'max-tokens': { type: 'string' },
  temperature: { type: 'string' },
  'top-p': { type: 'string' },
  'top-k': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'ignore-eos': { type: 'boolean' },
  thinking: { type: 'boolean' },
  'hide-reasoning': { type: 'boolean' },
  system: { type: 'string' },
  model: { type: 'string' },
} as const;

export interface SamplingFlagValues {
  readonly 'max-tokens'?: string | undefined;
  readonly temperature?: string | undefined;
  readonly 'top-p'?: string | undefined;
  readonly 'top-k'?: string | undefined;
  readonly seed?: string | undefined;
}

export interface ParsedSampling {
  readonly maxTokens: number;
  readonly input: { temperature?: number; topP?: number; topK?: number; seed?: number };
}

/** Checks the flags before the model loads, so a typo fails fast. */
export function parseSamplingFlags(v: SamplingFlagValues): ParsedSampling {
  const seed = v.seed === undefined ? undefined : /^-?\d+$/.test(v.seed) ? Number(v.seed) : NaN;
  if (seed !== undefined && !Number.isSafeInteger(seed)) throw new UsageError(`--seed must be an integer, got "${v.seed}"`);
  const input = {
    ...optional('temperature', parseNumberFlag('temperature', v.temperature, { min: 0 })),
    ...optional('topP', positive('top-p', parseNumberFlag('top-p', v['top-p'], { min: 0, max: 1 }))),
    ...optional('topK', parseIntFlag('top-k', v['top-k'], -1)),
    ...optional('seed', seed),
  };
  return { maxTokens: parseIntFlag('max-tokens', v['max-tokens']) ?? 256, input };
}

function positive(flag: string, value: number | undefined): number | undefined {
  if (value === 0) throw new UsageError(`--${flag} must be > 0, got 0`);
  return value;
}

function optional<K extends string>(key: K, value: number | undefined): { [P in K]?: number } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: number };
}

/** Flag values + the model's generation_config defaults -> validated params (errors name the flag). */
export function samplingFor(tm: TextModel, parsed: ParsedSampling): SamplingParams {
  try {
    return normalizeSamplingParams(parsed.input, tm.samplingDefaults, tm.model.info.vocabSize);
  } catch (e) {
    if (e instanceof SamplingParamsError) throw new UsageError(`--${e.field.replace(/_/g, '-')} ${e.message.slice(e.field.length + 1)}`);
    throw e;
  }
}

/** The context check every text command makes, with a message that says what to change. */
export function checkPromptFits(tm: TextModel, promptTokens: number, maxTokens: number): number {
  if (promptTokens >= tm.maxModelLen) {
    throw new Error(`the prompt is ${promptTokens} tokens, but the model's context is ${tm.maxModelLen} tokens; shorten the prompt${tm.maxModelLen < tm.model.info.maxPositionEmbeddings ? ' or raise --max-model-len' : ''}`);
  }
  return Math.min(maxTokens, tm.maxModelLen - promptTokens);
}

export async function loadWithProgress(dir: string, options: TextModelOptions): Promise<TextModel> {
  const bar = createLoadProgress();
  try {
    return await loadTextModel(dir, { ...options, onProgress: bar.onProgress });
  } finally {
    bar.stop();
  }
}

export async function runCommand(argv: string[], out: (s: string) => void): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { ...SAMPLING_FLAG_OPTIONS, ...ENGINE_FLAG_OPTIONS, prompt: { type: 'string' }, chat: { type: 'boolean' } },
    strict: true,
  });
  const promptText = requireFlag('prompt', values.prompt);
  const sampling = parseSamplingFlags(values);
  const modelOptions = textModelFlags(values);
  if ((values.thinking || values.system !== undefined) && !values.chat) throw new UsageError('--thinking and --system need --chat');
  const dir = modelDirFlag(values.model);
  const tp = tensorParallelFlag(values, out);
  if (tp.communicator && tp.communicator.rank !== 0) return followAndClose(dir, modelOptions, tp);
  const tm = await loadWithProgress(dir, { ...modelOptions, ...tp.modelOptions });
  try {
    const params = samplingFor(tm, sampling);
    const chat = values.chat
      ? buildChatPrompt(tm, {
          messages: [...(values.system !== undefined ? [{ role: 'system' as const, content: values.system }] : []), { role: 'user', content: promptText }],
          thinking: values.thinking ?? false,
        })
      : null;
    const promptIds = chat ? chat.ids : tm.tokenizer.encode(promptText);
    const request: TextRequest = {
      promptIds,
      sampling: params,
      maxTokens: checkPromptFits(tm, promptIds.length, sampling.maxTokens),
      stop: values.stop ?? [],
      ignoreEos: values['ignore-eos'] ?? false,
      reasoning: chat ? { startsInReasoning: chat.startsInReasoning } : null,
      toolFormat: null,
    };
    const printer = new TextPrinter(out, { showReasoning: !values['hide-reasoning'], color: Boolean(process.stdout.isTTY) });
    const start = performance.now();
    let firstToken: number | null = null;
    let finish: TextFinishEvent | undefined;
    for await (const ev of generateText(tm, request)) {
      if (ev.type === 'delta') {
        firstToken ??= performance.now();
        printer.delta(ev.delta);
      } else finish = ev;
    }
    if (!finish) throw new Error('generation ended without a finish event');
    printer.finish(finish);
    process.stderr.write(statsLine(finish, { start, firstToken, end: performance.now() }) + '\n');
  } finally {
    await tm.close();
    tp.close();
  }
}
