// One sequence's grammar state: the engine asks for the allowed next tokens before each sample
// and reports each token it appends.
import type { GrammarMatcher } from '@mlc-ai/web-xgrammar';
import type { TokenConstraint } from '../engine/index.js';

export class GrammarConstraint implements TokenConstraint {
  readonly #matcher: GrammarMatcher;
  readonly vocabSize: number;
  #disposed = false;

  constructor(matcher: GrammarMatcher, vocabSize: number) {
    this.#matcher = matcher;
    this.vocabSize = vocabSize;
  }

  nextTokenMask(): Promise<Int32Array> {
    // A sequence aborted while its step ran is still sampled (and its token dropped): allow all.
    if (this.#disposed) return Promise.resolve(new Int32Array(Math.ceil(this.vocabSize / 32)).fill(-1));
    return this.#matcher.getNextTokenBitmask();
  }

  accept(tokenId: number): boolean {
    return !this.#disposed && this.#matcher.acceptToken(tokenId);
  }

  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.#matcher.dispose();
  }
}
