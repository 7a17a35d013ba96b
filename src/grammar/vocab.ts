// The vocabulary as xgrammar reads it: every token's exact bytes, spelled in GPT-2's byte-level
// alphabet (xgrammar's "byte_level" vocab type), whatever the tokenizer's own scheme. Bytes come
// from TokenTexts, which already knows them for byte-level BPE; added and special tokens are their
// literal text, so markers such as DeepSeek's <｜tool▁call▁end｜> can be written by a grammar.
import type { TokenTexts } from '../text/index.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { BYTE_TO_UNICODE } from '../tokenizer/byte-level.js';

export interface GrammarVocab {
  /** byte-level spelling of each id below the tokenizer's vocab size */
  readonly encodedVocab: readonly string[];
  /** the model's logit width (may exceed the tokenizer's: padding ids are never allowed) */
  readonly vocabSize: number;
  /** ids that end generation; allowed only where the grammar accepts */
  readonly stopTokenIds: readonly number[];
}


export function grammarVocab(tokenizer: Tokenizer, texts: TokenTexts, modelVocabSize: number, stopTokenIds: readonly number[]): GrammarVocab {
  const encodedVocab: string[] = [];
  for (let id = 0; id < tokenizer.vocabSize; id++) {
    const bytes = tokenizer.specialIds.has(id) ? Buffer.from(tokenizer.idToToken(id) ?? '', 'utf8') : texts.get(id).bytes;
    let spelled = '';
    for (const b of bytes) spelled += BYTE_TO_UNICODE[b]!;
    encodedVocab.push(spelled);
  }
  return { encodedVocab, vocabSize: modelVocabSize, stopTokenIds };
}
