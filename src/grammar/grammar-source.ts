// What a request asks the output to follow, as xgrammar input. Every structured-output field of
// the API (response_format, structured_outputs, guided_*, forced tool calls) becomes one of these.
//
// JSON is compiled compact (no free whitespace, `, ` and `: ` separators, as Python's json.dumps
// writes it): with "any whitespace" a model can pad forever between tokens, and JSON parsers do not
// care about the layout.

export type GrammarSource =
  /** a JSON schema (null: any JSON object, OpenAI's json_object) */
  | { readonly type: 'json'; readonly schema: string | null }
  | { readonly type: 'regex'; readonly pattern: string }
  | { readonly type: 'ebnf'; readonly text: string };

/** A schema, regex or grammar xgrammar refuses; the message is xgrammar's own. */
export class GrammarSpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GrammarSpecError';
  }
}

/** A string literal in xgrammar's EBNF (C-style escapes). */
export function ebnfString(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Exactly one of `choices` (vLLM's guided_choice). */
export function choiceSource(choices: readonly string[]): GrammarSource {
  return { type: 'ebnf', text: `root ::= ${choices.map(ebnfString).join(' | ')}\n` };
}

/** Cache key: equal sources compile to the same grammar. */
export function sourceKey(source: GrammarSource): string {
  return JSON.stringify(source);
}
