// Grammars for one model's vocabulary: validates a request's schema / regex / grammar, compiles it
// (cached by source, so a repeated schema compiles once) and makes one matcher per sequence.
//
// Two xgrammar instances: `main` holds the vocabulary, the compiled grammars and every matcher and
// is only ever given input that `checker` has already accepted; `checker` parses each new source
// first and, when xgrammar aborts on bad input, is thrown away together with its broken state
// (see xgrammar-instance.ts), its "[FATAL]" line becoming the error message.
import type { CompiledGrammar, Grammar, GrammarCompiler } from '@mlc-ai/web-xgrammar';
import { GrammarConstraint } from './grammar-constraint.js';
import { GrammarSpecError, sourceKey } from './grammar-source.js';
import type { GrammarSource } from './grammar-source.js';
import { createXGrammarInstance } from './xgrammar-instance.js';
import type { XGrammarInstance } from './xgrammar-instance.js';
import type { GrammarVocab } from './vocab.js';

const CACHE_ENTRIES = 256;

// json_object is any JSON object; a schema is strict (no properties or items it does not name),
// as vLLM compiles it.
const ANY_OBJECT = '{"type": "object"}';

export class GrammarEngine {
  readonly #main: XGrammarInstance;
  readonly #compiler: GrammarCompiler;
  readonly #vocabSize: number;
  #checker: XGrammarInstance | null = null;
  readonly #cache = new Map<string, Promise<CompiledGrammar>>();

  private constructor(main: XGrammarInstance, compiler: GrammarCompiler, vocabSize: number) {
    this.#main = main;
    this.#compiler = compiler;
    this.#vocabSize = vocabSize;
  }

  static async create(vocab: GrammarVocab): Promise<GrammarEngine> {
    const main = createXGrammarInstance();
    const info = await main.xg.TokenizerInfo.createTokenizerInfo([...vocab.encodedVocab], 'byte_level', false, vocab.vocabSize, [...vocab.stopTokenIds]);
    const compiler = await main.xg.GrammarCompiler.createGrammarCompiler(info, false);
    return new GrammarEngine(main, compiler, vocab.vocabSize);
  }

  /** Number of compiled grammars kept. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Throws GrammarSpecError naming the problem when xgrammar cannot parse `source`. */
  async compile(source: GrammarSource): Promise<CompiledGrammar> {
    const key = sourceKey(source);
    let compiled = this.#cache.get(key);
    if (compiled !== undefined) {
      this.#cache.delete(key); // re-inserted below: the map's order is least recently used first
    } else {
      compiled = this.#check(source).then(() => this.#compileChecked(source));
      compiled.catch(() => this.#cache.delete(key));
    }
    this.#cache.set(key, compiled);
    while (this.#cache.size > CACHE_ENTRIES) {
      const [oldest, entry] = this.#cache.entries().next().value!;
      this.#cache.delete(oldest);
      // Matchers made from it keep their own reference to the compiled grammar.
      entry.then((g) => g.dispose(), () => {});
    }
    return compiled;
  }

  /** A fresh matcher for one sequence. */
  async constraint(source: GrammarSource): Promise<GrammarConstraint> {
    const compiled = await this.compile(source);
    const matcher = await this.#main.xg.GrammarMatcher.createGrammarMatcher(compiled);
    return new GrammarConstraint(matcher, this.#vocabSize);
  }

  /** EBNF of a JSON schema in the compact layout, for grammars that embed JSON values. */
  async jsonSchemaEbnf(schema: string): Promise<string> {
    return this.#onChecker((xg) => xg.Testings._jsonSchemaToEBNF(schema, false, -1, [', ', ': '], true));
  }

  async #check(source: GrammarSource): Promise<void> {
    const grammar = await this.#onChecker((xg): Promise<Grammar> => {
      switch (source.type) {
        case 'json':
          return xg.Grammar.fromJSONSchema(source.schema ?? ANY_OBJECT, false, -1, [', ', ': '], source.schema !== null);
        case 'regex':
          return xg.Grammar.fromStructuralTag({ type: 'regex', pattern: source.pattern });
        case 'ebnf':
          return xg.Grammar.fromEBNF(source.text);
      }
    });
    grammar.dispose();
  }

  #compileChecked(source: GrammarSource): Promise<CompiledGrammar> {
    switch (source.type) {
      case 'json':
        return this.#compiler.compileJSONSchema(source.schema ?? ANY_OBJECT, false, -1, [', ', ': '], source.schema !== null);
      case 'regex':
        return this.#compiler.compileStructuralTag({ type: 'regex', pattern: source.pattern });
      case 'ebnf':
        return this.#compiler.compileGrammar(source.text);
    }
  }

  async #onChecker<T>(run: (xg: XGrammarInstance['xg']) => Promise<T>): Promise<T> {
    const checker = (this.#checker ??= createXGrammarInstance());
    try {
      return await run(checker.xg);
    } catch (err) {
      this.#checker = null;
      const fatal = checker.takeOutput().find((line) => line.startsWith('[FATAL]'));
      if (fatal === undefined) throw err;
      // "[FATAL] /path/to/json_schema_converter.cc:902: Unsupported type "nope"" -> the message
      throw new GrammarSpecError(fatal.replace(/^\[FATAL\]\s*\S+:\d+:\s*/, ''));
    }
  }
}
