// Combining xgrammar EBNF texts: each JSON-schema grammar defines `root` and helper rules
// (`basic_string`, ...), so embedding several in one grammar needs their rule names made unique.

/** Renames every rule defined in `ebnf` to `prefix + name`, leaving string literals and character classes alone. */
export function prefixRules(ebnf: string, prefix: string): string {
  const defined = new Set<string>();
  for (const m of ebnf.matchAll(/^([A-Za-z_][A-Za-z0-9_]*)\s*::=/gm)) defined.add(m[1]!);
  let out = '';
  let i = 0;
  while (i < ebnf.length) {
    const ch = ebnf.charAt(i);
    if (ch === '"' || ch === '[') {
      const close = ch === '"' ? '"' : ']';
      let j = i + 1;
      while (j < ebnf.length && ebnf.charAt(j) !== close) j += ebnf.charAt(j) === '\\' ? 2 : 1;
      out += ebnf.slice(i, j + 1);
      i = j + 1;
    } else if (ch === '#') {
      const j = ebnf.indexOf('\n', i);
      i = j < 0 ? ebnf.length : j; // comments dropped
    } else if (/[A-Za-z_]/.test(ch)) {
      let j = i + 1;
      while (j < ebnf.length && /[A-Za-z0-9_]/.test(ebnf.charAt(j))) j++;
      const name = ebnf.slice(i, j);
      out += defined.has(name) ? prefix + name : name;
      i = j;
    } else {
      out += ch;
      i++;
    }
  }
  return out;
}
