// The vocabulary as xgrammar reads it: every token's exact bytes, spelled in GPT-2's byte-level
// alphabet (xgrammar's "byte_level" vocab type), whatever the tokenizer's own scheme. Bytes come
// from TokenTexts, which already knows them for byte-level BPE; added and special tokens are their
// literal text, so markers such as DeepSeek's <｜tool▁call▁end｜> can be written by a grammar.
import type { TokenTexts } from '../text/index.js';
import type { Tokenizer } from '../tokenizer/index.js';

export interface GrammarVocab {
  /** byte-level spelling of each id below the tokenizer's vocab size */
  readonly encodedVocab: readonly string[];
  /** the model's logit width (may exceed the tokenizer's: padding ids are never allowed) */
  readonly vocabSize: number;
  /** ids that end generation; allowed only where the grammar accepts */
  readonly stopTokenIds: readonly number[];
}

/** GPT-2 bytes_to_unicode: printable bytes map to themselves, the rest to U+0100 and up. */
function byteToUnicode(): readonly string[] {
  const table: string[] = new Array<string>(256);
  const printable = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let extra = 0;
  for (let b = 0; b < 256; b++) table[b] = printable(b) ? String.fromCharCode(b) : String.fromCharCode(256 + extra++);
  return table;
}

const BYTE_LEVEL = byteToUnicode();

export function grammarVocab(tokenizer: Tokenizer, texts: TokenTexts, modelVocabSize: number, stopTokenIds: readonly number[]): GrammarVocab {
  const encodedVocab: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const bytes = tokenizer.specialIds.has(id) ? Buffer.from(tokenizer.idToToken(id) ?? '', 'utf8') : texts.get(id).bytes;
    let spelled = '';
    for (const b of bytes) spelled += BYTE_LEVEL[b]!;
    encodedVocab.push(spelled);
  }
  return { encodedVocab, vocabSize: modelVocabSize, stopTokenIds };
}
