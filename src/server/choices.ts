// The n choices (x prompts) of one API request as one merged event stream. All engine requests are
// queued up front, so a refusal (context length, cache size) happens before any byte is sent and
// nothing is left running. Aborting the set (client gone, server shutting down) aborts every
// choice, queued or running, which frees its KV blocks at once.
import { generateText } from '../text/index.js';
import type { TextEvent, TextModel, TextRequest, TextStream } from '../text/index.js';
import type { ServerMetrics } from './metrics.js';

export interface ChoiceEvent {
  readonly index: number;
  readonly event: TextEvent;
}

type Item = { readonly kind: 'event'; readonly value: ChoiceEvent } | { readonly kind: 'error'; readonly error: unknown } | { readonly kind: 'end' };

export class ChoiceSet implements AsyncIterable<ChoiceEvent> {
  readonly #streams: TextStream[] = [];
  readonly #queue: Item[] = [];
  #wake: (() => void) | null = null;

  /** Queues one engine request per entry of `requests` (choice index = position). Throws before anything runs. */
  constructor(tm: TextModel, requests: readonly TextRequest[], metrics: ServerMetrics, arrival: number) {
    try {
      for (const r of requests) this.#streams.push(generateText(tm, r));
    } catch (err) {
      this.abort();
      throw err;
    }
    let open = this.#streams.length;
    this.#streams.forEach((stream, index) => {
      const observer = metrics.choice(arrival);
      void (async () => {
        try {
          for await (const event of stream) {
            if (event.type === 'delta') observer.token();
            else observer.finish(event.finishReason === 'tool_calls' ? 'stop' : event.finishReason, event.usage.promptTokens, event.usage.completionTokens);
            this.#push({ kind: 'event', value: { index, event } });
          }
        } catch (error) {
          this.#push({ kind: 'error', error });
        } finally {
          if (--open === 0) this.#push({ kind: 'end' });
        }
      })();
    });
  }

  abort(): void {
    for (const s of this.#streams) s.abort();
  }

  #push(item: Item): void {
    this.#queue.push(item);
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ChoiceEvent> {
    try {
      for (;;) {
        const item = this.#queue.shift();
        if (item === undefined) {
          await new Promise<void>((resolve) => (this.#wake = resolve));
          continue;
        }
        if (item.kind === 'end') return;
        if (item.kind === 'error') throw item.error;
        yield item.value;
      }
    } finally {
      // Leaving early (an error, a consumer that stops) must not leave choices running.
      this.abort();
    }
  }
}
