// Streaming detokenization. Decoding one token at a time is wrong for byte-level BPE and
// byte-fallback vocabularies: a character's UTF-8 bytes may span several tokens, and some decoders
// (SentencePiece "▁") change a token's text depending on what precedes it. So we decode a short
// window twice - with and without the new tokens - and emit the difference, holding everything back
// while the window ends in U+FFFD (an incomplete character). This is the scheme of HF TGI and vLLM.
import type { Tokenizer } from './tokenizer.js';

export interface IncrementalDecoderOptions {
  readonly skipSpecialTokens?: boolean;
  /** Special ids that are still emitted when skipping (e.g. markers parsers need). */
  readonly keepIds?: ReadonlySet<number>;
  /** Prompt ids; the last few give the first generated token its left context. */
  readonly promptIds?: readonly number[];
}

const REPLACEMENT = '\uFFFD';
// Enough left context for every decoder we know (vLLM uses the same number).
const PROMPT_CONTEXT_TOKENS = 5;

export class IncrementalDecoder {
  readonly #tokenizer: Tokenizer;
  readonly #skipSpecial: boolean;
  readonly #keepIds: ReadonlySet<number> | undefined;
  /** Window of ids: [0, #readOffset) was already turned into text, the rest is pending. */
  #ids: number[];
  #readOffset: number;
  /** Text of #ids[0, #readOffset), cached because it only changes when text is emitted. */
  #prefixText: string;
  #text = '';

  constructor(tokenizer: Tokenizer, options: IncrementalDecoderOptions = {}) {
    this.#tokenizer = tokenizer;
    this.#skipSpecial = options.skipSpecialTokens ?? false;
    this.#keepIds = options.keepIds;
    const prompt = (options.promptIds ?? []).filter((id) => !this.#skipped(id));
    this.#ids = prompt.slice(Math.max(0, prompt.length - PROMPT_CONTEXT_TOKENS));
    this.#readOffset = this.#ids.length;
    this.#prefixText = this.#decode(this.#ids);
  }

  /** All text emitted so far. */
  get text(): string {
    return this.#text;
  }

  /** Adds generated token(s); returns the newly completed text ('' while a character is incomplete). */
  push(ids: number | readonly number[]): string {
    const list = typeof ids === 'number' ? [ids] : ids;
    for (const id of list) if (!this.#skipped(id)) this.#ids.push(id);
    if (this.#ids.length === this.#readOffset) return '';
    const full = this.#decode(this.#ids);
    if (full.length <= this.#prefixText.length || full.endsWith(REPLACEMENT)) return '';
    return this.#emit(full);
  }

  /**
   * Emits whatever is pending even if it ends in an incomplete character (shown as U+FFFD).
   * Call once when generation ends.
   */
  flush(): string {
    if (this.#ids.length === this.#readOffset) return '';
    const full = this.#decode(this.#ids);
    if (full.length <= this.#prefixText.length) return '';
    return this.#emit(full);
  }

  #emit(full: string): string {
    const delta = full.slice(this.#prefixText.length);
    // Slide the window: the newly emitted tokens become the left context of the next ones.
    this.#ids = this.#ids.slice(this.#readOffset);
    this.#readOffset = this.#ids.length;
    this.#prefixText = this.#decode(this.#ids);
    this.#text += delta;
    return delta;
  }

  #skipped(id: number): boolean {
    return this.#skipSpecial && this.#tokenizer.specialIds.has(id) && !(this.#keepIds?.has(id) ?? false);
  }

  #decode(ids: readonly number[]): string {
    return ids.length === 0 ? '' : this.#tokenizer.decode(ids);
  }
}
