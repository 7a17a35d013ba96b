// Token logprobs in the two OpenAI shapes: chat (`logprobs.content[]` with bytes) and legacy
// completions (parallel arrays tokens / token_logprobs / top_logprobs / text_offset).
import type { GeneratedToken, PromptTokenLogprob, TokenTexts } from '../text/index.js';

export interface ChatTopLogprob {
  readonly token: string;
  readonly logprob: number;
  readonly bytes: readonly number[];
}

export interface ChatLogprob extends ChatTopLogprob {
  readonly top_logprobs: readonly ChatTopLogprob[];
}

export function chatLogprobs(texts: TokenTexts, tokens: readonly GeneratedToken[]): ChatLogprob[] {
  return tokens.map((t) => {
    const tt = texts.get(t.id);
    return {
      token: tt.text,
      logprob: t.logprob ?? 0,
      bytes: tt.bytes,
      top_logprobs: (t.topLogprobs ?? []).map((a) => {
        const at = texts.get(a.id);
        return { token: at.text, logprob: a.logprob, bytes: at.bytes };
      }),
    };
  });
}

export interface CompletionLogprobs {
  tokens: string[];
  token_logprobs: Array<number | null>;
  top_logprobs: Array<Record<string, number> | null>;
  text_offset: number[];
}

/** Accumulates completion logprobs; `offset` is the length of the choice's text before these tokens. */
export class CompletionLogprobsBuilder {
  #offset: number;

  constructor(
    private readonly texts: TokenTexts,
    startOffset = 0,
  ) {
    this.#offset = startOffset;
  }

  /** Logprobs of generated tokens (or of prompt tokens, for echo). */
  build(tokens: ReadonlyArray<GeneratedToken | PromptTokenLogprob>): CompletionLogprobs {
    const out: CompletionLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    for (const t of tokens) {
      const text = this.texts.get(t.id).text;
      out.tokens.push(text);
      out.token_logprobs.push(t.logprob ?? null);
      const top = t.topLogprobs;
      out.top_logprobs.push(top === null || top === undefined ? null : Object.fromEntries(top.map((a) => [this.texts.get(a.id).text, a.logprob])));
      out.text_offset.push(this.#offset);
      this.#offset += text.length;
    }
    return out;
  }
}

export function concatLogprobs(a: CompletionLogprobs, b: CompletionLogprobs): CompletionLogprobs {
  return {
    tokens: [...a.tokens, ...b.tokens],
    token_logprobs: [...a.token_logprobs, ...b.token_logprobs],
    top_logprobs: [...a.top_logprobs, ...b.top_logprobs],
    text_offset: [...a.text_offset, ...b.text_offset],
  };
}
