// JSON text exactly as Python's `json.dumps(value, ensure_ascii=False)` writes it. DeepSeek's
// reference encoders (and HF Jinja `tojson`) serialize tool schemas and arguments that way, and the
// model was trained on those bytes: ", " and ": " separators, Python float repr.

/** Python `json.dumps(value, ensure_ascii=False)`. `undefined` members are skipped like JSON.stringify. */
export function pyJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'string':
      // JSON.stringify escapes the same set as Python with ensure_ascii=False (", \, control chars).
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return pyNumber(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) return `[${value.map((v: unknown) => pyJsonDumps(v)).join(', ')}]`;
      const parts: string[] = [];
      for (const [key, member] of Object.entries(value as Record<string, unknown>)) {
        if (member === undefined || typeof member === 'function') continue;
        parts.push(`${JSON.stringify(key)}: ${pyJsonDumps(member)}`);
      }
      return `{${parts.join(', ')}}`;
    }
    default:
      return 'null';
  }
}

// Python prints NaN/Infinity literally (allow_nan=True) and uses repr() for floats: scientific
// notation when the decimal exponent is < -4 or >= 16. Integral JS numbers print as Python ints.
function pyNumber(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e21) return String(n);
  const [mantissa = '0', expText = '0'] = n.toExponential().split('e');
  const exp = Number(expText);
  if (exp < -4 || exp >= 16) {
    const sign = exp < 0 ? '-' : '+';
    const mag = String(Math.abs(exp)).padStart(2, '0');
    return `${mantissa}e${sign}${mag}`;
  }
  return String(n);
}
