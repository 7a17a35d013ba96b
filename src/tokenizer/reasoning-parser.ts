// Splits model output into reasoning and content at `</think>`. DeepSeek V3.1+ prompts already end
// in `<think>` when thinking is on, so the output starts inside the block and never repeats the
// open tag (R1-style models may; a leading `<think>` is dropped). Like vLLM's deepseek parsers, an
// output that never closes the block is all reasoning.
import { partialStopSuffix } from './stop-conditions.js';
import { THINK_END, THINK_START } from './deepseek-tokens.js';

export interface ReasoningDelta {
  readonly reasoning: string;
  readonly content: string;
}

export interface ReasoningParserOptions {
  /** The prompt ended inside a think block (see RenderedPrompt.startsInReasoning). */
  readonly startsInReasoning: boolean;
  readonly startTag?: string;
  readonly endTag?: string;
}

type Phase = 'start' | 'reasoning' | 'content';

export class ReasoningParser {
  readonly #start: string;
  readonly #end: string;
  #phase: Phase;
  #pending = '';
  #sawAnyReasoning = false;

  constructor(options: ReasoningParserOptions) {
    this.#start = options.startTag ?? THINK_START;
    this.#end = options.endTag ?? THINK_END;
    // Outside a think block we still accept one opening tag at the very start of the output.
    this.#phase = options.startsInReasoning ? 'reasoning' : 'start';
  }

  push(text: string): ReasoningDelta {
    let input = this.#pending + text;
    this.#pending = '';
    let reasoning = '';
    let content = '';
    while (input.length > 0) {
      if (this.#phase === 'start') {
        const trimmed = input.trimStart();
        if (trimmed.startsWith(this.#start)) {
          input = trimmed.slice(this.#start.length);
          this.#phase = 'reasoning';
          continue;
        }
        if (this.#start.startsWith(trimmed)) {
          this.#pending = input; // could still become "<think>"
          break;
        }
        this.#phase = 'content';
        continue;
      }
      if (this.#phase === 'content') {
        content += input;
        break;
      }
      // Reasoning: a model that re-emits the open tag gets it dropped once, at the beginning.
      if (!this.#sawAnyReasoning && input.startsWith(this.#start)) input = input.slice(this.#start.length);
      const end = input.indexOf(this.#end);
      if (end >= 0) {
        reasoning += input.slice(0, end);
        input = input.slice(end + this.#end.length);
        this.#phase = 'content';
        continue;
      }
      const hold = partialStopSuffix(input, [this.#end, ...(this.#sawAnyReasoning ? [] : [this.#start])], Math.max(this.#end.length, this.#start.length));
      reasoning += input.slice(0, input.length - hold);
      this.#pending = input.slice(input.length - hold);
      break;
    }
    if (reasoning.length > 0) this.#sawAnyReasoning = true;
    return { reasoning, content };
  }

  /** Releases held-back text at the end of generation. */
  flush(): ReasoningDelta {
    const rest = this.#pending;
    this.#pending = '';
    if (rest === '') return { reasoning: '', content: '' };
    if (this.#phase === 'reasoning') return { reasoning: rest, content: '' };
    return { reasoning: '', content: rest };
  }

  /** True once the output is past reasoning: after `</think>`, or after the first non-tag text when no block was opened. */
  get inContent(): boolean {
    return this.#phase === 'content';
  }
}

/** Whole-text split, equal to streaming the text through a parser in one piece. */
export function splitReasoning(text: string, startsInReasoning: boolean): ReasoningDelta {
  const parser = new ReasoningParser({ startsInReasoning });
  const a = parser.push(text);
  const b = parser.flush();
  return { reasoning: a.reasoning + b.reasoning, content: a.content + b.content };
}
