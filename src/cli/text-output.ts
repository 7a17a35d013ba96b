// How run and chat show a streamed answer in a terminal: reasoning dimmed (or wrapped in
// <think></think> when the output is not a terminal, or hidden), content as it arrives, tool calls
// as one line each, and a stats line on stderr.
import type { TextDelta, TextFinishEvent } from '../text/index.js';

const DIM = '\x1b[2m';
const RESET = '\x1b[0m';

export interface TextPrinterOptions {
  readonly showReasoning: boolean;
  /** ANSI dimming for reasoning; otherwise it is wrapped in <think>...</think> */
  readonly color: boolean;
}

export class TextPrinter {
  #inReasoning = false;
  #last = '\n';

  constructor(
    private readonly write: (s: string) => void,
    private readonly options: TextPrinterOptions,
  ) {}

  delta(d: TextDelta): void {
    if (d.reasoning !== '' && this.options.showReasoning) {
      if (!this.#inReasoning) this.#emit(this.options.color ? DIM : '<think>\n');
      this.#inReasoning = true;
      this.#emit(d.reasoning);
    }
    if (d.content !== '' || d.toolCalls.length > 0) this.#closeReasoning();
    if (d.content !== '') this.#emit(d.content);
  }

  /** Ends the answer: closes a reasoning block, lists tool calls, ends the line. */
  finish(ev: TextFinishEvent): void {
    this.delta(ev.delta);
    this.#closeReasoning();
    for (const call of ev.toolCalls) {
      if (this.#last !== '\n') this.#emit('\n');
      this.#emit(`[tool call] ${call.function.name}(${call.function.arguments})\n`);
    }
    if (this.#last !== '\n') this.#emit('\n');
  }

  #closeReasoning(): void {
    if (!this.#inReasoning) return;
    this.#inReasoning = false;
    this.#emit(this.options.color ? `${RESET}\n` : `${this.#last === '\n' ? '' : '\n'}</think>\n`);
  }

  #emit(s: string): void {
    if (s === '') return;
    this.write(s);
    this.#last = s.charAt(s.length - 1);
  }
}

export interface GenerationTimes {
  readonly start: number;
  readonly firstToken: number | null;
  readonly end: number;
}

/** "12 prompt tokens, 64 generated in 1.20 s (53.3 tok/s), first token after 45 ms" */
export function statsLine(ev: TextFinishEvent, t: GenerationTimes): string {
  const secs = (t.end - t.start) / 1000;
  const n = ev.usage.completionTokens;
  const rate = secs > 0 ? n / secs : 0;
  const first = t.firstToken === null ? '' : `, first token after ${Math.round(t.firstToken - t.start)} ms`;
  const cached = ev.usage.cachedTokens > 0 ? ` (${ev.usage.cachedTokens} cached)` : '';
  const reason = ev.finishReason === 'stop' ? '' : `, finish: ${ev.finishReason}`;
  return `${ev.usage.promptTokens} prompt tokens${cached}, ${n} generated in ${secs.toFixed(2)} s (${rate.toFixed(1)} tok/s)${first}${reason}`;
}
