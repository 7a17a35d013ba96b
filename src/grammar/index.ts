// Structured output: grammars (xgrammar) for JSON schemas, regexes, choices, EBNF and forced tool
// calls, and the per-sequence constraints the engine samples under.
export { GrammarEngine } from './grammar-engine.js';
export { GrammarConstraint } from './grammar-constraint.js';
export { choiceSource, GrammarSpecError } from './grammar-source.js';
export type { GrammarSource } from './grammar-source.js';
export { toolCallSource } from './tool-call-grammar.js';
export type { ToolSchema } from './tool-call-grammar.js';
export { grammarVocab } from './vocab.js';
export type { GrammarVocab } from './vocab.js';
