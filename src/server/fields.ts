// Typed access to a JSON request body; every failure is a 400 naming the field (OpenAI's `param`).
// Unknown fields are ignored, as vLLM and OpenAI do.
import { invalid } from './api-error.js';

type Json = Readonly<Record<string, unknown>>;

export function isJsonObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return v.length > 40 ? 'a string' : JSON.stringify(v);
  if (typeof v === 'number') return String(v);
  return `a ${typeof v}`;
}

export interface NumberRule {
  readonly min?: number;
  readonly max?: number;
  /** min is exclusive */
  readonly above?: number;
  readonly int?: boolean;
}

export class Fields {
  readonly raw: Json;

  constructor(body: unknown) {
    if (!isJsonObject(body)) throw invalid(null, `the request body must be a JSON object, got ${describe(body)}`, 'invalid_type');
    this.raw = body;
  }

  has(name: string): boolean {
    return this.raw[name] !== undefined && this.raw[name] !== null;
  }

  string(name: string, opts: { maxLength?: number } = {}): string | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'string') throw invalid(name, `${name} must be a string, got ${describe(v)}`, 'invalid_type');
    if (opts.maxLength !== undefined && v.length > opts.maxLength) throw invalid(name, `${name} is longer than ${opts.maxLength} characters`);
    return v;
  }

  bool(name: string): boolean | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'boolean') throw invalid(name, `${name} must be true or false, got ${describe(v)}`, 'invalid_type');
    return v;
  }

  number(name: string, rule: NumberRule = {}): number | undefined {
    return checkNumber(name, this.raw[name], rule);
  }

  array(name: string, opts: { maxItems?: number } = {}): readonly unknown[] | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (!Array.isArray(v)) throw invalid(name, `${name} must be an array, got ${describe(v)}`, 'invalid_type');
    if (opts.maxItems !== undefined && v.length > opts.maxItems) throw invalid(name, `${name} has ${v.length} items; at most ${opts.maxItems} are allowed`);
    return v;
  }

  object(name: string): Json | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    if (!isJsonObject(v)) throw invalid(name, `${name} must be an object, got ${describe(v)}`, 'invalid_type');
    return v;
  }

  /** A string or a list of strings (`stop`). */
  strings(name: string, opts: { maxItems: number; maxLength: number }): string[] | undefined {
    const v = this.raw[name];
    if (v === undefined || v === null) return undefined;
    const list = typeof v === 'string' ? [v] : Array.isArray(v) ? v : null;
    if (list === null) throw invalid(name, `${name} must be a string or an array of strings, got ${describe(v)}`, 'invalid_type');
    if (list.length > opts.maxItems) throw invalid(name, `${name} has ${list.length} entries; at most ${opts.maxItems} are allowed`);
    list.forEach((s: unknown, i) => {
      if (typeof s !== 'string') throw invalid(`${name}[${i}]`, `${name}[${i}] must be a string, got ${describe(s)}`, 'invalid_type');
      if (s.length > opts.maxLength) throw invalid(`${name}[${i}]`, `${name}[${i}] is longer than ${opts.maxLength} characters`);
    });
    return list as string[];
  }

  /** A list of integers (`stop_token_ids`). */
  ints(name: string, opts: { maxItems: number; min?: number }): number[] | undefined {
    const list = this.array(name, { maxItems: opts.maxItems });
    if (list === undefined) return undefined;
    return list.map((v, i) => checkNumber(`${name}[${i}]`, v, { int: true, ...(opts.min !== undefined ? { min: opts.min } : {}) })!);
  }
}

export function checkNumber(name: string, v: unknown, rule: NumberRule): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw invalid(name, `${name} must be a number, got ${describe(v)}`, 'invalid_type');
  if (rule.int && !Number.isSafeInteger(v)) throw invalid(name, `${name} must be an integer, got ${describe(v)}`, 'invalid_type');
  if (rule.min !== undefined && v < rule.min) throw invalid(name, `${name} must be >= ${rule.min}, got ${v}`);
  if (rule.above !== undefined && v <= rule.above) throw invalid(name, `${name} must be > ${rule.above}, got ${v}`);
  if (rule.max !== undefined && v > rule.max) throw invalid(name, `${name} must be <= ${rule.max}, got ${v}`);
  return v;
}
