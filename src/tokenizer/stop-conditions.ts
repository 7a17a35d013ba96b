// Stop handling on the output stream: stop strings (text level, may span tokens) and stop token
// ids / EOS (id level). Text that might be the start of a stop string is held back until it is
// resolved, so a client never sees the beginning of a stop sequence that is later cut.

export interface StopStringResult {
  /** Text that is safe to emit now. */
  readonly text: string;
  /** A stop string was hit; nothing more will be emitted. */
  readonly stopped: boolean;
  /** The stop string that matched, when `stopped`. */
  readonly stop: string | undefined;
}

export interface StopStringOptions {
  /** vLLM's `include_stop_str_in_output`: emit the matched stop string itself. Default false. */
  readonly includeStopString?: boolean;
}

/** Longest suffix of `text` that is a proper prefix of one of `stops`. */
export function partialStopSuffix(text: string, stops: readonly string[], maxLength: number): number {
  for (let k = Math.min(text.length, maxLength - 1); k > 0; k--) {
    const tail = text.slice(text.length - k);
    if (stops.some((s) => s.startsWith(tail))) return k;
  }
  return 0;
}

export class StopStringMatcher {
  readonly #stops: readonly string[];
  readonly #maxLength: number;
  readonly #include: boolean;
  #pending = '';
  #stopped = false;

  /** Empty strings are ignored (they would match everywhere). */
  constructor(stops: readonly string[], options: StopStringOptions = {}) {
    this.#stops = stops.filter((s) => s.length > 0);
    this.#maxLength = this.#stops.reduce((m, s) => Math.max(m, s.length), 0);
    this.#include = options.includeStopString ?? false;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  push(chunk: string): StopStringResult {
    if (this.#stopped) return { text: '', stopped: true, stop: undefined };
    if (this.#stops.length === 0) return { text: chunk, stopped: false, stop: undefined };
    const text = this.#pending + chunk;
    // The earliest match wins; on a tie, the stop listed first.
    let at = -1;
    let hit: string | undefined;
    for (const stop of this.#stops) {
      const i = text.indexOf(stop);
      if (i >= 0 && (at < 0 || i < at)) {
        at = i;
        hit = stop;
      }
    }
    if (hit !== undefined) {
      this.#stopped = true;
      this.#pending = '';
      return { text: text.slice(0, this.#include ? at + hit.length : at), stopped: true, stop: hit };
    }
    const hold = partialStopSuffix(text, this.#stops, this.#maxLength);
    this.#pending = text.slice(text.length - hold);
    return { text: text.slice(0, text.length - hold), stopped: false, stop: undefined };
  }

  /** Releases held-back text when generation ends without a stop string. */
  flush(): string {
    const rest = this.#stopped ? '' : this.#pending;
    this.#pending = '';
    return rest;
  }
}

export type TokenStopReason = 'eos' | 'stop_token';

export interface StopTokenOptions {
  readonly eosIds: readonly number[];
  /** vLLM `stop_token_ids`. */
  readonly stopTokenIds?: readonly number[];
  /** vLLM `ignore_eos`: keep generating past EOS (benchmarks). */
  readonly ignoreEos?: boolean;
  /** vLLM `min_tokens`: no id-level stop before this many tokens were generated. */
  readonly minTokens?: number;
}

/** Decides, per sampled token, whether generation ends at the id level. */
export class StopTokenChecker {
  readonly #eos: ReadonlySet<number>;
  readonly #stop: ReadonlySet<number>;
  readonly #minTokens: number;

  constructor(options: StopTokenOptions) {
    this.#eos = new Set(options.ignoreEos === true ? [] : options.eosIds);
    this.#stop = new Set(options.stopTokenIds ?? []);
    this.#minTokens = options.minTokens ?? 0;
  }

  /** `generatedCount` includes `id`. */
  check(id: number, generatedCount: number): TokenStopReason | undefined {
    if (generatedCount < this.#minTokens) return undefined;
    if (this.#eos.has(id)) return 'eos';
    if (this.#stop.has(id)) return 'stop_token';
    return undefined;
  }

  /** Ids the sampler should mask while fewer than `minTokens` were generated. */
  blockedIds(generatedCount: number): readonly number[] {
    return generatedCount < this.#minTokens ? [...this.#eos, ...this.#stop] : [];
  }
}
