// A single-consumer async queue of one request's events. The engine pushes without waiting (a token
// event is a few numbers, so buffering a slow reader is cheap); the reader pulls with for-await.
// Leaving the loop early (break, return, a thrown error) calls `onCancel`, which the engine wires
// to abort: a client that stops reading stops costing compute.

export class RequestStream<T> implements AsyncIterable<T> {
  private readonly buffer: T[] = [];
  private waiter: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | null = null;
  private ended = false;
  private error: { value: unknown } | null = null;
  private iterated = false;

  constructor(private readonly onCancel: () => void) {}

  push(event: T): void {
    if (this.ended) return;
    if (this.waiter) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: event, done: false });
    } else this.buffer.push(event);
  }

  /** No more events; the reader finishes after draining the buffer. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    if (this.waiter && this.buffer.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      w.resolve({ value: undefined, done: true });
    }
  }

  /** Ends the stream with an error, thrown to the reader after the buffered events. */
  fail(error: unknown): void {
    if (this.ended) return;
    this.error = { value: error };
    this.ended = true;
    if (this.waiter && this.buffer.length === 0) {
      const w = this.waiter;
      this.waiter = null;
      w.reject(error);
    }
  }

  get isEnded(): boolean {
    return this.ended;
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    if (this.iterated) throw new Error('a request stream can be iterated only once');
    this.iterated = true;
    return {
      next: () => {
        const event = this.buffer.shift();
        if (event !== undefined) return Promise.resolve({ value: event, done: false });
        if (this.ended) {
          if (this.error) {
            const e = this.error.value;
            this.error = null;
            return Promise.reject(e);
          }
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise<IteratorResult<T>>((resolve, reject) => (this.waiter = { resolve, reject }));
      },
      return: () => {
        if (!this.ended) this.onCancel();
        this.ended = true;
        this.buffer.length = 0;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }
}
