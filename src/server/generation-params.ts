// The generation fields chat and completions requests share (OpenAI's plus vLLM's extensions),
// validated once into the options of a text request. Each choice of n gets its own sampling params:
// choice i uses seed + i, so n > 1 with a seed gives n different but reproducible answers.
import { normalizeSamplingParams } from '../engine/index.js';
import type { SamplingParams, SamplingParamsInput } from '../engine/index.js';
import type { TextModel, TextRequest } from '../text/index.js';
import { invalid } from './api-error.js';
import type { Fields } from './fields.js';
import { isJsonObject } from './fields.js';

export const MAX_N = 64;
const MAX_STOPS = 32;

export interface GenerationParams {
  readonly n: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly maxTokens: number | undefined;
  /** top alternatives per token; null = no logprobs */
  readonly logprobs: number | null;
  readonly sampling: readonly SamplingParams[];
  readonly request: Omit<TextRequest, 'promptIds' | 'sampling' | 'maxTokens'>;
}

export function parseGenerationParams(f: Fields, tm: TextModel, kind: 'chat' | 'completion'): GenerationParams {
  const n = f.number('n', { int: true, min: 1, max: MAX_N }) ?? 1;
  const stream = f.bool('stream') ?? false;
  const streamOptions = f.object('stream_options');
  if (streamOptions !== undefined && !stream) throw invalid('stream_options', 'stream_options is only allowed when stream is true');
  const includeUsage = streamOptions?.['include_usage'];
  if (includeUsage !== undefined && includeUsage !== null && typeof includeUsage !== 'boolean') {
    throw invalid('stream_options.include_usage', 'stream_options.include_usage must be true or false', 'invalid_type');
  }

  const maxCompletion = kind === 'chat' ? f.number('max_completion_tokens', { int: true, min: 1 }) : undefined;
  const maxTokensField = f.number('max_tokens', { int: true, min: kind === 'completion' ? 0 : 1 });
  // OpenAI's legacy completions default to 16 tokens; chat defaults to the rest of the context.
  const maxTokens = maxCompletion ?? maxTokensField ?? (kind === 'completion' ? 16 : tm.maxNewTokensDefault);

  let logprobs: number | null = null;
  if (kind === 'chat') {
    const want = f.bool('logprobs') ?? false;
    const top = f.number('top_logprobs', { int: true, min: 0, max: 20 });
    if (top !== undefined && top > 0 && !want) throw invalid('top_logprobs', 'top_logprobs requires logprobs to be true');
    logprobs = want ? (top ?? 0) : null;
  } else {
    logprobs = f.number('logprobs', { int: true, min: 0, max: 20 }) ?? null;
  }

  const seed = f.number('seed', { int: true });
  const input: SamplingParamsInput = {
    ...opt('temperature', f.number('temperature', { min: 0, max: 2 })),
    ...opt('topP', f.number('top_p', { above: 0, max: 1 })),
    ...opt('topK', f.number('top_k', { int: true, min: -1 })),
    ...opt('minP', f.number('min_p', { min: 0, max: 1 })),
    ...opt('repetitionPenalty', f.number('repetition_penalty', { above: 0, max: 10 })),
    ...opt('frequencyPenalty', f.number('frequency_penalty', { min: -2, max: 2 })),
    ...opt('presencePenalty', f.number('presence_penalty', { min: -2, max: 2 })),
    ...(f.has('logit_bias') ? { logitBias: logitBias(f) } : {}),
    logprobs: logprobs !== null,
    topLogprobs: logprobs ?? 0,
  };
  const vocab = tm.model.info.vocabSize;
  const sampling = Array.from({ length: n }, (_, i) =>
    normalizeSamplingParams({ ...input, ...(seed !== undefined ? { seed: seed + i } : {}) }, tm.samplingDefaults, vocab),
  );

  const minTokens = f.number('min_tokens', { int: true, min: 0 });
  if (minTokens !== undefined && maxTokens !== undefined && minTokens > maxTokens) throw invalid('min_tokens', `min_tokens (${minTokens}) must not exceed max_tokens (${maxTokens})`);
  const stopTokenIds = f.ints('stop_token_ids', { maxItems: 1024, min: 0 });
  stopTokenIds?.forEach((id, i) => {
    if (id >= vocab) throw invalid(`stop_token_ids[${i}]`, `stop_token_ids[${i}] is ${id}, not a token id of this model (vocab ${vocab})`);
  });
  const stop = (f.strings('stop', { maxItems: MAX_STOPS, maxLength: 1000 }) ?? []).filter((s) => s !== '');
  const cacheSalt = f.string('cache_salt', { maxLength: 1000 });
  return {
    n,
    stream,
    includeUsage: includeUsage === true,
    maxTokens,
    logprobs,
    sampling,
    request: {
      stop,
      ...(stopTokenIds ? { stopTokenIds } : {}),
      ...opt('minTokens', minTokens),
      includeStopString: f.bool('include_stop_str_in_output') ?? false,
      ignoreEos: f.bool('ignore_eos') ?? false,
      skipSpecialTokens: f.bool('skip_special_tokens') ?? true,
      ...(cacheSalt !== undefined ? { cacheSalt } : {}),
    },
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

function logitBias(f: Fields): Record<string, number> {
  const raw = f.object('logit_bias') ?? {};
  if (!isJsonObject(raw)) throw invalid('logit_bias', 'logit_bias must be an object');
  if (Object.keys(raw).length > 1024) throw invalid('logit_bias', 'logit_bias has more than 1024 entries');
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(raw)) {
    if (typeof v !== 'number') throw invalid(`logit_bias.${k}`, `logit_bias[${k}] must be a number`, 'invalid_type');
    out[k] = v;
  }
  return out;
}
