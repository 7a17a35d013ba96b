// DeepSeek V3 and V3.1 tool-call syntax. Both wrap calls in
//   <｜tool▁calls▁begin｜><｜tool▁call▁begin｜>…<｜tool▁call▁end｜>…<｜tool▁calls▁end｜>
// and differ in the call body:
//   V3:   function<｜tool▁sep｜>NAME\n```json\nARGS\n```
//   V3.1: NAME<｜tool▁sep｜>ARGS
import { partialStopSuffix } from './stop-conditions.js';
import { TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_CALLS_BEGIN, TOOL_SEP } from './deepseek-tokens.js';
import type { SnapshotCall, ToolCallFormat, ToolCallSnapshot } from './tool-call-types.js';

interface BodyResult extends SnapshotCall {
  /** Index just past this call, when it is complete. */
  readonly end: number | undefined;
}

/** Parses one call body starting after `<｜tool▁call▁begin｜>`; undefined while the name is incomplete. */
type BodyParser = (text: string, start: number, final: boolean) => BodyResult | undefined;

function holdBack(text: string, marker: string): number {
  return partialStopSuffix(text, [marker], marker.length);
}

// Streaming cut: drop a partial closing marker and trailing whitespace, which a closed call trims.
function stablePrefix(region: string, marker: string): string {
  let cut = region.length - holdBack(region, marker);
  while (cut > 0 && /\s/.test(region.charAt(cut - 1))) cut--;
  return region.slice(0, cut);
}

function skipWhitespace(text: string, pos: number): number {
  while (pos < text.length && /\s/.test(text.charAt(pos))) pos++;
  return pos;
}

function snapshotWith(body: BodyParser, text: string, final: boolean): ToolCallSnapshot {
  const begin = text.indexOf(TOOL_CALLS_BEGIN);
  if (begin < 0) {
    const hold = final ? 0 : holdBack(text, TOOL_CALLS_BEGIN);
    return { content: text.slice(0, text.length - hold), calls: [] };
  }
  const calls: SnapshotCall[] = [];
  let pos = begin + TOOL_CALLS_BEGIN.length;
  for (;;) {
    pos = skipWhitespace(text, pos);
    // Anything else (the closing marker, a partial marker, stray text) ends what we can learn.
    if (!text.startsWith(TOOL_CALL_BEGIN, pos)) break;
    const call = body(text, pos + TOOL_CALL_BEGIN.length, final);
    if (call === undefined) break;
    calls.push({ name: call.name, arguments: call.arguments });
    if (call.end === undefined) break;
    pos = call.end;
  }
  return { content: text.slice(0, begin), calls };
}

const v31Body: BodyParser = (text, start, final) => {
  const sep = text.indexOf(TOOL_SEP, start);
  if (sep < 0) return undefined;
  const name = text.slice(start, sep).trim();
  const argsStart = sep + TOOL_SEP.length;
  const end = text.indexOf(TOOL_CALL_END, argsStart);
  if (end >= 0) return { name, arguments: text.slice(argsStart, end), end: end + TOOL_CALL_END.length };
  const hold = final ? 0 : holdBack(text, TOOL_CALL_END);
  return { name, arguments: text.slice(argsStart, Math.max(argsStart, text.length - hold)), end: undefined };
};

const FENCE_CLOSE = '\n```';

const v3Body: BodyParser = (text, start, final) => {
  const sep = text.indexOf(TOOL_SEP, start);
  if (sep < 0) return undefined;
  const afterSep = sep + TOOL_SEP.length;
  const callEnd = text.indexOf(TOOL_CALL_END, afterSep);
  const closed = callEnd >= 0;
  const limit = closed ? callEnd : text.length;
  const end = closed ? callEnd + TOOL_CALL_END.length : undefined;
  const newline = text.indexOf('\n', afterSep);
  if (newline < 0 || newline >= limit) {
    // The name runs to the end of the line; until we see it end, it may still grow.
    if (!closed && !final) return undefined;
    const raw = text.slice(afterSep, limit);
    return { name: (closed || final ? raw : raw.slice(0, raw.length - holdBack(raw, TOOL_CALL_END))).trim(), arguments: '', end };
  }
  const name = text.slice(afterSep, newline).trim();
  let region = text.slice(newline + 1, limit);
  const open = /^```[^\n]*\n/.exec(region);
  if (open !== null) {
    region = region.slice(open[0].length);
    const close = region.indexOf(FENCE_CLOSE);
    if (close >= 0) return { name, arguments: region.slice(0, close), end };
    if (closed || final) return { name, arguments: region.replace(/\s*(```)?\s*$/, ''), end };
    return { name, arguments: stablePrefix(region, FENCE_CLOSE), end };
  }
  if (!closed && !final && (region.startsWith('```') || '```'.startsWith(region))) {
    return { name, arguments: '', end: undefined }; // the fence line is still arriving
  }
  // Unfenced arguments: tolerate V3.1-style bodies from a V3 template.
  if (closed || final) return { name, arguments: region.trimEnd(), end };
  return { name, arguments: stablePrefix(region, TOOL_CALL_END), end };
};

export const deepSeekV31Format: ToolCallFormat = {
  name: 'deepseek-v31',
  snapshot: (text, final) => snapshotWith(v31Body, text, final),
};

export const deepSeekV3Format: ToolCallFormat = {
  name: 'deepseek-v3',
  snapshot: (text, final) => snapshotWith(v3Body, text, final),
};
