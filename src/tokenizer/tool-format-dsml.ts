// DeepSeek-V3.2 DSML tool calls:
//   \n\n<｜DSML｜function_calls>\n<｜DSML｜invoke name="f">\n
//   <｜DSML｜parameter name="x" string="true">raw text</｜DSML｜parameter>\n ... </｜DSML｜invoke>\n</｜DSML｜function_calls>
// Arguments are rebuilt as JSON the way DeepSeek's decoder does (`{"x": "raw text", "n": 5}`): string
// parameters are JSON-quoted, others inserted as written. String values stream character by
// character; other values appear once their closing tag arrives.
import { partialStopSuffix } from './stop-conditions.js';
import { DSML_CALLS_BEGIN, DSML_INVOKE_END, DSML_PARAM_END } from './deepseek-tokens.js';
import type { SnapshotCall, ToolCallFormat, ToolCallSnapshot } from './tool-call-types.js';

const INVOKE_OPEN = /^<｜DSML｜invoke\s+name="([^"]*)"\s*>/;
const PARAM_OPEN = /^<｜DSML｜parameter\s+name="([^"]*)"\s+string="(true|false)"\s*>/;

function isSpace(ch: string): boolean {
  return /\s/.test(ch);
}

function skipWhitespace(text: string, pos: number): number {
  while (pos < text.length && isSpace(text.charAt(pos))) pos++;
  return pos;
}

/** `"key": value` with DeepSeek's rule; a string="false" value that is not JSON is kept as a string. */
function entry(key: string, value: string, isString: boolean): string {
  if (isString) return `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  try {
    JSON.parse(value);
    return `${JSON.stringify(key)}: ${value}`;
  } catch {
    return `${JSON.stringify(key)}: ${JSON.stringify(value)}`;
  }
}

/** Opening part of a string entry whose value is still arriving; escaping is per character, so it only grows. */
function partialStringEntry(key: string, value: string): string {
  // A lone high surrogate would be escaped now and printed raw later: wait for its pair.
  const safe = /[\uD800-\uDBFF]$/.test(value) ? value.slice(0, -1) : value;
  return `${JSON.stringify(key)}: ${JSON.stringify(safe).slice(0, -1)}`;
}

interface InvokeResult {
  readonly call: SnapshotCall;
  readonly end: number | undefined;
}

function parseInvoke(text: string, pos: number, name: string, final: boolean): InvokeResult {
  const entries: string[] = [];
  let partial: string | undefined;
  for (;;) {
    pos = skipWhitespace(text, pos);
    if (text.startsWith(DSML_INVOKE_END, pos)) {
      return { call: { name, arguments: `{${entries.join(', ')}}` }, end: pos + DSML_INVOKE_END.length };
    }
    const open = PARAM_OPEN.exec(text.slice(pos));
    if (open === null) break; // a tag still arriving, or malformed output
    const [, key = '', stringAttr] = open;
    const isString = stringAttr === 'true';
    const valueStart = pos + open[0].length;
    const valueEnd = text.indexOf(DSML_PARAM_END, valueStart);
    if (valueEnd < 0) {
      const value = text.slice(valueStart);
      if (final) entries.push(entry(key, value, isString));
      else if (isString) partial = partialStringEntry(key, value.slice(0, value.length - partialStopSuffix(value, [DSML_PARAM_END], DSML_PARAM_END.length)));
      break;
    }
    entries.push(entry(key, text.slice(valueStart, valueEnd), isString));
    pos = valueEnd + DSML_PARAM_END.length;
  }
  // Unfinished invoke: the stable prefix, closed only when no more text will come.
  let args = `{${entries.join(', ')}`;
  if (partial !== undefined) args += (entries.length > 0 ? ', ' : '') + partial;
  if (final) args += '}';
  return { call: { name, arguments: args }, end: undefined };
}

function snapshot(text: string, final: boolean): ToolCallSnapshot {
  const begin = text.indexOf(DSML_CALLS_BEGIN);
  if (begin < 0) {
    if (final) return { content: text, calls: [] };
    // The block is preceded by "\n\n", which is not content: hold trailing whitespace back too.
    let cut = text.length - partialStopSuffix(text, [DSML_CALLS_BEGIN], DSML_CALLS_BEGIN.length);
    while (cut > 0 && isSpace(text.charAt(cut - 1))) cut--;
    return { content: text.slice(0, cut), calls: [] };
  }
  let contentEnd = begin;
  while (contentEnd > 0 && isSpace(text.charAt(contentEnd - 1))) contentEnd--;
  const calls: SnapshotCall[] = [];
  let pos = begin + DSML_CALLS_BEGIN.length;
  for (;;) {
    pos = skipWhitespace(text, pos);
    const open = INVOKE_OPEN.exec(text.slice(pos));
    if (open === null) break; // closing tag, partial tag or junk
    const result = parseInvoke(text, pos + open[0].length, open[1] ?? '', final);
    calls.push(result.call);
    if (result.end === undefined) break;
    pos = result.end;
  }
  return { content: text.slice(0, contentEnd), calls };
}

export const dsmlFormat: ToolCallFormat = { name: 'deepseek-v32', snapshot };
