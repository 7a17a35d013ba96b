// The structured-output fields of a request -> one grammar source, and n grammar constraints for
// its choices. Accepted, one at a time:
//   response_format {"type": "json_object"} | {"type": "json_schema", "json_schema": {name, schema, strict}}
//   structured_outputs {json | json_object | regex | choice | grammar}   (vLLM >= 0.10)
//   guided_json | guided_regex | guided_choice | guided_grammar          (vLLM < 0.12)
// Compilation happens here, in the handler, before the request reaches the engine: a step never
// waits for a grammar.
import type { TokenConstraint } from '../engine/index.js';
import { choiceSource, GrammarSpecError } from '../grammar/index.js';
import type { GrammarEngine, GrammarSource } from '../grammar/index.js';
import { invalid } from './api-error.js';
import type { Fields } from './fields.js';
import { isJsonObject } from './fields.js';

const MAX_SPEC_CHARS = 64 * 1024;
const MAX_CHOICES = 1024;

/** A grammar source and the request field it came from (named in errors). */
export interface StructuredSpec {
  readonly source: GrammarSource;
  readonly param: string;
}

function text(param: string, v: unknown): string {
  if (typeof v !== 'string') throw invalid(param, `${param} must be a string`, 'invalid_type');
  if (v.length > MAX_SPEC_CHARS) throw invalid(param, `${param} is longer than ${MAX_SPEC_CHARS} characters`);
  return v;
}

function schema(param: string, v: unknown): GrammarSource {
  // vLLM takes the schema as an object or as its JSON text.
  let parsed = v;
  if (typeof v === 'string') {
    try {
      parsed = JSON.parse(text(param, v));
    } catch {
      throw invalid(param, `${param} is not valid JSON`);
    }
  }
  if (!isJsonObject(parsed) && typeof parsed !== 'boolean') throw invalid(param, `${param} must be a JSON schema (an object)`, 'invalid_type');
  const json = JSON.stringify(parsed);
  if (json.length > MAX_SPEC_CHARS) throw invalid(param, `${param} is longer than ${MAX_SPEC_CHARS} characters`);
  return { type: 'json', schema: json };
}

function choices(param: string, v: unknown): GrammarSource {
  if (!Array.isArray(v) || v.length === 0) throw invalid(param, `${param} must be a non-empty array of strings`, 'invalid_type');
  if (v.length > MAX_CHOICES) throw invalid(param, `${param} has ${v.length} entries; at most ${MAX_CHOICES} are allowed`);
  return choiceSource(v.map((c: unknown, i) => text(`${param}[${i}]`, c)));
}

function responseFormat(v: Readonly<Record<string, unknown>>): StructuredSpec | null {
  switch (v['type']) {
    case 'text':
      return null;
    case 'json_object':
      return { source: { type: 'json', schema: null }, param: 'response_format' };
    case 'json_schema': {
      const js = v['json_schema'];
      if (!isJsonObject(js)) throw invalid('response_format.json_schema', 'response_format.json_schema must be an object with name and schema', 'invalid_type');
      if (typeof js['name'] !== 'string') throw invalid('response_format.json_schema.name', 'response_format.json_schema.name must be a string', 'missing_required_parameter');
      if (js['strict'] !== undefined && js['strict'] !== null && typeof js['strict'] !== 'boolean') throw invalid('response_format.json_schema.strict', 'response_format.json_schema.strict must be true or false', 'invalid_type');
      const param = 'response_format.json_schema.schema';
      return { source: js['schema'] === undefined ? { type: 'json', schema: null } : schema(param, js['schema']), param };
    }
    default:
      throw invalid('response_format.type', `response_format.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(v['type'])}`, 'unsupported_value');
  }
}

/** The grammar a request asks for, or null; 400 for malformed fields or more than one constraint. */
export function parseStructuredOutput(f: Fields): StructuredSpec | null {
  const found: StructuredSpec[] = [];
  const format = f.object('response_format');
  const fromFormat = format !== undefined ? responseFormat(format) : null;
  if (fromFormat) found.push(fromFormat);
  const so = f.object('structured_outputs');
  if (so !== undefined) {
    for (const key of Object.keys(so)) {
      const v = so[key];
      if (v === undefined || v === null || v === false) continue;
      const param = `structured_outputs.${key}`;
      switch (key) {
        case 'json':
          found.push({ source: schema(param, v), param });
          break;
        case 'json_object':
          found.push({ source: { type: 'json', schema: null }, param });
          break;
        case 'regex':
          found.push({ source: { type: 'regex', pattern: text(param, v) }, param });
          break;
        case 'choice':
          found.push({ source: choices(param, v), param });
          break;
        case 'grammar':
          found.push({ source: { type: 'ebnf', text: text(param, v) }, param });
          break;
        default:
          throw invalid(param, `${param} is not supported (supported: json, json_object, regex, choice, grammar)`, 'unsupported_value');
      }
    }
  }
  const legacy: Array<[string, (param: string, v: unknown) => GrammarSource]> = [
    ['guided_json', schema],
    ['guided_regex', (p, v) => ({ type: 'regex', pattern: text(p, v) })],
    ['guided_choice', choices],
    ['guided_grammar', (p, v) => ({ type: 'ebnf', text: text(p, v) })],
  ];
  for (const [param, make] of legacy) if (f.has(param)) found.push({ source: make(param, f.raw[param]), param });
  if (found.length > 1) throw invalid(found[1]!.param, `only one structured output constraint may be given, got ${found.map((s) => s.param).join(' and ')}`, 'unsupported_value');
  return found[0] ?? null;
}

/** One constraint per choice; a bad schema / regex / grammar is a 400 naming the field. */
export async function makeConstraints(grammar: GrammarEngine, spec: StructuredSpec, n: number): Promise<TokenConstraint[]> {
  try {
    await grammar.compile(spec.source);
  } catch (e) {
    if (e instanceof GrammarSpecError) throw invalid(spec.param, `invalid ${spec.param}: ${e.message}`);
    throw e;
  }
  return Promise.all(Array.from({ length: n }, () => grammar.constraint(spec.source)));
}
