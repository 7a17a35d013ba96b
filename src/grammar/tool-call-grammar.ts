// Forced tool calls (tool_choice "required" or a named function): a grammar for the rest of the
// call in the model's own syntax, after the opening the chat prompt already wrote (see
// forcedPrefix in src/text/chat-prompt.ts), with the arguments held to each tool's JSON schema.
// A named function is called once; "required" makes one call, or several when parallel calls are
// allowed; then the closing marker, then only EOS.
//   V3:   ...function<｜tool▁sep｜>NAME\n```json\n  ARGS \n```<｜tool▁call▁end｜> ... <｜tool▁calls▁end｜>
//   V3.1: ...NAME<｜tool▁sep｜>  ARGS <｜tool▁call▁end｜> ... <｜tool▁calls▁end｜>
//   V3.2: ...<｜DSML｜invoke name="NAME">\n  one parameter per line: plain strings raw
//         (string="true"), every other value as JSON (string="false"), in schema order  </｜DSML｜invoke> ...
import {
  DSML_CALLS_END, DSML_INVOKE_END, DSML_INVOKE_OPEN, DSML_PARAM_END, DSML_PARAM_OPEN, TOOL_CALL_BEGIN, TOOL_CALL_END, TOOL_CALLS_END, TOOL_SEP,
} from '../tokenizer/deepseek-tokens.js';
import type { ToolCallFormatName } from '../tokenizer/index.js';
import { prefixRules } from './ebnf-rules.js';
import { ebnfString } from './grammar-source.js';
import type { GrammarSource } from './grammar-source.js';

export interface ToolSchema {
  readonly name: string;
  readonly parameters: Readonly<Record<string, unknown>> | undefined;
}

/** JSON schema text -> EBNF with a `root` rule (GrammarEngine.jsonSchemaEbnf). */
export type JsonEbnf = (schema: string) => Promise<string>;

const s = ebnfString;

export async function toolCallSource(format: ToolCallFormatName, tools: readonly ToolSchema[], forcedName: string | undefined, parallel: boolean, jsonEbnf: JsonEbnf): Promise<GrammarSource> {
  const rules: string[] = [];
  // call_i: a call of tool i from its name on; rest_i: the same after the name.
  for (const [i, tool] of tools.entries()) {
    const schema = tool.parameters ?? { type: 'object' };
    const args = format === 'deepseek-v32' ? await dsmlParams(schema, `t${i}_`, jsonEbnf, rules) : await jsonRule(schema, `t${i}_`, jsonEbnf, rules);
    rules.push(`rest_${i} ::= ${args} ${s(callEnd(format))}`, `call_${i} ::= ${s(nameOpen(format, tool.name))} rest_${i}`);
  }
  const anyCall = `(${tools.map((_, i) => `call_${i}`).join(' | ')})`;
  const first = forcedName !== undefined ? `rest_${tools.findIndex((t) => t.name === forcedName)}` : anyCall;
  const more = forcedName === undefined && parallel ? ` (${s(nextOpen(format))} ${anyCall})*` : '';
  rules.unshift(`root ::= ${first}${more} ${s(callsEnd(format))}`);
  return { type: 'ebnf', text: rules.join('\n') + '\n' };
}

function nameOpen(format: ToolCallFormatName, name: string): string {
  switch (format) {
    case 'deepseek-v3':
      return `${name}\n\`\`\`json\n`;
    case 'deepseek-v31':
      return name + TOOL_SEP;
    case 'deepseek-v32':
      return `${name}">\n`;
  }
}

function callEnd(format: ToolCallFormatName): string {
  switch (format) {
    case 'deepseek-v3':
      return `\n\`\`\`${TOOL_CALL_END}`;
    case 'deepseek-v31':
      return TOOL_CALL_END;
    case 'deepseek-v32':
      return DSML_INVOKE_END;
  }
}

function nextOpen(format: ToolCallFormatName): string {
  switch (format) {
    case 'deepseek-v3':
      return `\n${TOOL_CALL_BEGIN}function${TOOL_SEP}`;
    case 'deepseek-v31':
      return TOOL_CALL_BEGIN;
    case 'deepseek-v32':
      return `\n${DSML_INVOKE_OPEN} name="`;
  }
}

function callsEnd(format: ToolCallFormatName): string {
  return format === 'deepseek-v32' ? `\n${DSML_CALLS_END}` : TOOL_CALLS_END;
}

async function jsonRule(schema: Readonly<Record<string, unknown>>, prefix: string, jsonEbnf: JsonEbnf, rules: string[]): Promise<string> {
  rules.push(prefixRules(await jsonEbnf(JSON.stringify(schema)), prefix));
  return `${prefix}root`;
}

// A string property with no constraint on its value is written raw, as DeepSeek's encoder does;
// constrained strings (enum, pattern, lengths) and all other values go as JSON.
function isPlainString(schema: unknown): boolean {
  if (typeof schema !== 'object' || schema === null) return false;
  const keys = Object.keys(schema).filter((k) => k !== 'description' && k !== 'title');
  return keys.length === 1 && (schema as Record<string, unknown>)['type'] === 'string';
}

async function dsmlParams(schema: Readonly<Record<string, unknown>>, prefix: string, jsonEbnf: JsonEbnf, rules: string[]): Promise<string> {
  const props = (schema['properties'] ?? {}) as Record<string, unknown>;
  const required = new Set(Array.isArray(schema['required']) ? (schema['required'] as unknown[]) : []);
  const defs = Object.fromEntries(['$defs', 'definitions'].filter((k) => k in schema).map((k) => [k, schema[k]]));
  const items: string[] = [];
  for (const [j, [key, sub]] of Object.entries(props).entries()) {
    const plain = isPlainString(sub);
    const value = plain ? `${prefix}raw` : await jsonRule({ ...(sub as object), ...defs }, `${prefix}p${j}_`, jsonEbnf, rules);
    const item = `${s(`${DSML_PARAM_OPEN} name="${key}" string="${plain}">`)} ${value} ${s(`${DSML_PARAM_END}\n`)}`;
    items.push(required.has(key) ? item : `(${item})?`);
  }
  rules.push(`${prefix}raw ::= [^<]*`);
  return items.length > 0 ? items.join(' ') : '""';
}
