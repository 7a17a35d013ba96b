// Typed access to a GGUF file's metadata for config normalization; every error names the file
// and the key (GgufError), like ConfigReader does for config.json.
import { GgufError } from '../formats/gguf-errors.js';
import type { GgufValue } from '../formats/gguf-types.js';

export class GgufMetaReader {
  constructor(
    readonly file: string,
    readonly metadata: ReadonlyMap<string, GgufValue>,
    /** the architecture prefix of per-architecture keys (`llama.block_count`) */
    readonly arch: string,
  ) {}

  has(key: string): boolean {
    return this.metadata.has(this.key(key));
  }

  fail(key: string, problem: string): never {
    throw new GgufError('bad-value', this.file, problem, { key: this.key(key) });
  }

  /** `.name` keys are per-architecture (`<arch>.name`); keys with a dot prefix of their own are global. */
  private key(key: string): string {
    return key.startsWith('general.') || key.startsWith('tokenizer.') || key.startsWith('split.') ? key : `${this.arch}.${key}`;
  }

  private value(key: string): GgufValue | undefined {
    return this.metadata.get(this.key(key));
  }

  num(key: string, fallback?: number): number {
    const v = this.value(key);
    if (v === undefined) {
      if (fallback === undefined) this.fail(key, 'missing metadata key');
      return fallback;
    }
    switch (v.type) {
      case 'u64':
      case 'i64':
        return Number(v.value);
      case 'bool':
      case 'string':
      case 'array':
        return this.fail(key, `expected a number, found ${v.type}`);
      default:
        return v.value;
    }
  }

  int(key: string, fallback?: number, min = 1): number {
    const n = this.num(key, fallback);
    if (!Number.isSafeInteger(n) || n < min) this.fail(key, `must be an integer >= ${min}, got ${n}`);
    return n;
  }

  optionalInt(key: string): number | null {
    return this.has(key) ? this.int(key, undefined, 0) : null;
  }

  str(key: string, fallback?: string): string {
    const v = this.value(key);
    if (v === undefined) {
      if (fallback === undefined) this.fail(key, 'missing metadata key');
      return fallback;
    }
    if (v.type !== 'string') this.fail(key, `expected a string, found ${v.type}`);
    return v.value;
  }

  bool(key: string, fallback: boolean): boolean {
    const v = this.value(key);
    if (v === undefined) return fallback;
    if (v.type !== 'bool') this.fail(key, `expected a bool, found ${v.type}`);
    return v.value;
  }

  /** An array's length (e.g. the vocabulary), or null when absent. */
  arrayLength(key: string): number | null {
    const v = this.value(key);
    if (v === undefined) return null;
    if (v.type !== 'array') this.fail(key, `expected an array, found ${v.type}`);
    return v.value.length;
  }
}
