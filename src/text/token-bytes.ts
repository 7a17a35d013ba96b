// The exact bytes of one token, for OpenAI logprobs (`token` text plus its `bytes`). Decoding a
// single byte-level BPE token through the tokenizer turns a partial UTF-8 character into U+FFFD,
// losing the bytes a client needs to reassemble it; the token's vocabulary string maps back to
// its bytes through GPT-2's byte-to-unicode table instead.
import type { Tokenizer } from '../tokenizer/index.js';
import { UNICODE_TO_BYTE } from '../tokenizer/byte-level.js';

export interface TokenText {
  /** UTF-8 decoding of `bytes` (U+FFFD where a character is split across tokens) */
  readonly text: string;
  readonly bytes: readonly number[];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export class TokenTexts {
  readonly #tokenizer: Tokenizer;
  readonly #byteLevel: boolean;
  readonly #cache = new Map<number, TokenText>();

  constructor(tokenizer: Tokenizer) {
    this.#tokenizer = tokenizer;
    // Byte-level vocabularies spell space and newline as these two characters.
    this.#byteLevel = tokenizer.tokenToId('\u0120') !== undefined && tokenizer.tokenToId('\u010a') !== undefined;
  }

  get(id: number): TokenText {
    let t = this.#cache.get(id);
    if (t === undefined) {
      t = this.#compute(id);
      if (this.#cache.size < 65536) this.#cache.set(id, t);
    }
    return t;
  }

  #compute(id: number): TokenText {
    const piece = this.#tokenizer.idToToken(id);
    if (this.#byteLevel && piece !== undefined && !this.#tokenizer.specialIds.has(id)) {
      const bytes: number[] = [];
      for (const ch of piece) {
        const b = UNICODE_TO_BYTE.get(ch);
        if (b === undefined) {
          bytes.length = 0;
          break; // an added token spelled literally (e.g. <｜User｜>)
        }
        bytes.push(b);
      }
      if (bytes.length > 0) return { text: utf8.decode(Uint8Array.from(bytes)), bytes };
    }
    const text = this.#tokenizer.decode([id]);
    return { text, bytes: [...Buffer.from(text, 'utf8')] };
  }
}
