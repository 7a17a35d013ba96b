// One choice's output pipeline: generated token ids -> text deltas split into content, reasoning and
// tool-call deltas, with stop strings. Per token:
//   finish ids (EOS / stop_token_ids) are not decoded
//   -> IncrementalDecoder (UTF-8-safe; a split character waits for its last byte)
//   -> StopStringMatcher (text that may begin a stop string is held until resolved)
//   -> ReasoningParser (</think> splits reasoning from content)
//   -> ToolCallStreamParser on the content (OpenAI tool_call deltas)
// The engine's stopCheck hook calls `advance` synchronously right after each token, so a stop
// string ends generation before another step runs; the reader of the engine's events calls it too
// (for tokens the hook never sees: before min_tokens, EOS, the last token) and is handed each
// token's text in order. Processing is idempotent by token index.
import type { Tokenizer, ToolCall, ToolCallDelta, ToolCallFormat } from '../tokenizer/index.js';
import { IncrementalDecoder, ReasoningParser, StopStringMatcher, ToolCallStreamParser } from '../tokenizer/index.js';

export interface OutputOptions {
  readonly tokenizer: Tokenizer;
  readonly promptIds: readonly number[];
  readonly stop?: readonly string[];
  readonly includeStopString?: boolean;
  /** Stop strings only count once this many tokens are out (vLLM's min_tokens). */
  readonly minTokens?: number;
  /** Ids that end generation (EOS unless ignored, stop_token_ids); never decoded into text. */
  readonly finishIds?: ReadonlySet<number>;
  /** Default true, as in vLLM. */
  readonly skipSpecialTokens?: boolean;
  /** Split reasoning from content; null = all text is content. */
  readonly reasoning?: { readonly startsInReasoning: boolean } | null;
  /** Parse tool calls out of the content; null = never. */
  readonly toolFormat?: ToolCallFormat | null;
  /** Text already forced into the prompt (tool_choice), fed to the tool parser before any output. */
  readonly toolPrefix?: string;
}

export interface TextDelta {
  readonly content: string;
  readonly reasoning: string;
  readonly toolCalls: readonly ToolCallDelta[];
}

export const EMPTY_DELTA: TextDelta = Object.freeze({ content: '', reasoning: '', toolCalls: Object.freeze([]) });

export function isEmptyDelta(d: TextDelta): boolean {
  return d.content === '' && d.reasoning === '' && d.toolCalls.length === 0;
}

export function mergeDeltas(a: TextDelta, b: TextDelta): TextDelta {
  if (isEmptyDelta(a)) return b;
  if (isEmptyDelta(b)) return a;
  return { content: a.content + b.content, reasoning: a.reasoning + b.reasoning, toolCalls: [...a.toolCalls, ...b.toolCalls] };
}

export class OutputProcessor {
  readonly #decoder: IncrementalDecoder;
  readonly #stops: StopStringMatcher;
  readonly #reasoning: ReasoningParser | null;
  readonly #tools: ToolCallStreamParser | null;
  readonly #minTokens: number;
  readonly #finishIds: ReadonlySet<number>;
  /** text delta of each processed token, not yet taken */
  readonly #pending: TextDelta[] = [];
  #processed = 0;
  #taken = 0;
  #leading: TextDelta = EMPTY_DELTA;
  #stopString: string | undefined;
  #finished = false;
  #content = '';
  #reasoningText = '';

  constructor(options: OutputOptions) {
    this.#decoder = new IncrementalDecoder(options.tokenizer, {
      skipSpecialTokens: options.skipSpecialTokens ?? true,
      promptIds: options.promptIds,
    });
    this.#stops = new StopStringMatcher(options.stop ?? [], { includeStopString: options.includeStopString ?? false });
    this.#reasoning = options.reasoning ? new ReasoningParser({ startsInReasoning: options.reasoning.startsInReasoning }) : null;
    this.#tools = options.toolFormat ? new ToolCallStreamParser(options.toolFormat) : null;
    this.#minTokens = options.minTokens ?? 0;
    this.#finishIds = options.finishIds ?? new Set();
    if (this.#tools && options.toolPrefix) {
      const d = this.#tools.push(options.toolPrefix);
      this.#leading = { content: d.content, reasoning: '', toolCalls: d.toolCalls };
    }
  }

  /** Number of tokens processed so far. */
  get processed(): number {
    return this.#processed;
  }

  /** The stop string that ended the output, if one did. */
  get stopString(): string | undefined {
    return this.#stopString;
  }

  get stopped(): boolean {
    return this.#stopString !== undefined;
  }

  /** Every tool call parsed so far (complete after `finish`). */
  get toolCalls(): readonly ToolCall[] {
    return this.#tools?.toolCalls ?? [];
  }

  /** Content text emitted so far (tool-call markup excluded). */
  get content(): string {
    return this.#content;
  }

  get reasoningText(): string {
    return this.#reasoningText;
  }

  /**
   * Processes token `index` (0-based among the outputs) if it is the next one; earlier indices are
   * ignored, so the stop hook and the event reader can both call this. Returns whether a stop
   * string has been matched.
   */
  advance(index: number, tokenId: number): boolean {
    if (index !== this.#processed || this.#finished) return this.stopped;
    this.#processed++;
    let delta = EMPTY_DELTA;
    if (!this.stopped) {
      const count = index + 1;
      const isFinishId = this.#finishIds.has(tokenId) && count >= this.#minTokens;
      const text = isFinishId ? '' : this.#decoder.push(tokenId);
      delta = this.#afterStops(text, count >= this.#minTokens);
    }
    this.#pending.push(delta);
    return this.stopped;
  }

  /** Merged deltas of the tokens through `index` not taken yet (plus forced tool-call deltas first). */
  takeThrough(index: number): TextDelta {
    let out = this.#leading;
    this.#leading = EMPTY_DELTA;
    while (this.#taken <= index && this.#pending.length > 0) {
      out = mergeDeltas(out, this.#pending.shift()!);
      this.#taken++;
    }
    return out;
  }

  /** Call once when generation has ended: every remaining delta, with held-back text released. */
  finish(): TextDelta {
    let out = this.takeThrough(Number.MAX_SAFE_INTEGER);
    if (this.#finished) return out;
    this.#finished = true;
    if (!this.stopped) out = mergeDeltas(out, this.#afterStops(this.#decoder.flush(), true));
    if (!this.stopped) out = mergeDeltas(out, this.#parse(this.#stops.flush()));
    let content = '';
    let reasoning = '';
    if (this.#reasoning) {
      const r = this.#reasoning.flush();
      reasoning = r.reasoning;
      content = r.content;
    }
    const tail = this.#tools ? this.#tools.push(content) : { content, toolCalls: [] };
    const fin = this.#tools ? this.#tools.finish() : { content: '', toolCalls: [] };
    const last: TextDelta = { content: tail.content + fin.content, reasoning, toolCalls: [...tail.toolCalls, ...fin.toolCalls] };
    this.#record(last);
    return mergeDeltas(out, last);
  }

  #afterStops(text: string, matchStops: boolean): TextDelta {
    if (text === '') return EMPTY_DELTA;
    if (!matchStops) return this.#parse(text);
    const r = this.#stops.push(text);
    if (r.stopped) this.#stopString = r.stop;
    return this.#parse(r.text);
  }

  #parse(text: string): TextDelta {
    if (text === '') return EMPTY_DELTA;
    const split = this.#reasoning ? this.#reasoning.push(text) : { reasoning: '', content: text };
    const tools = this.#tools ? this.#tools.push(split.content) : { content: split.content, toolCalls: [] };
    const delta: TextDelta = { content: tools.content, reasoning: split.reasoning, toolCalls: tools.toolCalls };
    this.#record(delta);
    return delta;
  }

  #record(d: TextDelta): void {
    this.#content += d.content;
    this.#reasoningText += d.reasoning;
  }
}
