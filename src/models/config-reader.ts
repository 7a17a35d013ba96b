// Typed access to a config.json object; every error names the file and the key.
import { ModelFormatError } from '../formats/errors.js';

export class ConfigReader {
  constructor(
    readonly file: string,
    readonly raw: Record<string, unknown>,
  ) {}

  has(key: string): boolean {
    return this.raw[key] !== undefined && this.raw[key] !== null;
  }

  fail(key: string, problem: string): never {
    throw new ModelFormatError(this.file, problem, { key });
  }

  int(key: string, fallback?: number, min = 1): number {
    const v = this.raw[key] ?? fallback;
    if (v === undefined) this.fail(key, 'required key is missing');
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) this.fail(key, `must be an integer, got ${JSON.stringify(v)}`);
    if (v < min) this.fail(key, `must be >= ${min}, got ${v}`);
    return v;
  }

  /** An integer, or null when the key is absent or null. */
  optionalInt(key: string, min = 1): number | null {
    return this.has(key) ? this.int(key, undefined, min) : null;
  }

  num(key: string, fallback?: number): number {
    const v = this.raw[key] ?? fallback;
    if (v === undefined) this.fail(key, 'required key is missing');
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(key, `must be a finite number, got ${JSON.stringify(v)}`);
    return v;
  }

  bool(key: string, fallback?: boolean): boolean {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'boolean') this.fail(key, v === undefined ? 'required key is missing' : `must be true or false, got ${JSON.stringify(v)}`);
    return v;
  }

  oneOf<T extends string>(key: string, allowed: readonly T[], fallback?: T): T {
    const v = this.raw[key] ?? fallback;
    if (typeof v !== 'string' || !(allowed as readonly string[]).includes(v)) {
      this.fail(key, `must be one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}, got ${JSON.stringify(v)}`);
    }
    return v as T;
  }

  object(key: string): ConfigReader | null {
    const v = this.raw[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'object' || Array.isArray(v)) this.fail(key, 'must be an object');
    return new ConfigReader(`${this.file} (${key})`, v as Record<string, unknown>);
  }

  /** An integer or a list of integers (e.g. eos_token_id), as a list. */
  intList(key: string): number[] {
    const v = this.raw[key];
    if (v === undefined || v === null) return [];
    const list = Array.isArray(v) ? v : [v];
    if (!list.every((x) => Number.isSafeInteger(x) && (x as number) >= 0)) this.fail(key, 'must be a token id or a list of token ids');
    return list as number[];
  }
}
