// Flags and helpers shared by the CLI commands.
import { UsageError } from './cli-error.js';
import { DEVICES, createBackend, isDeviceName } from '../backends/registry.js';
import type { Backend } from '../ops/backend.js';
import { DEFAULT_MODEL_DIR } from '../models/default-model.js';
import type { TextEngineOptions, TextModelOptions } from '../text/index.js';
import type { KvDType } from '../ops/kv-cache.js';

export function parseIntList(flag: string, value: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const ids = parts.map((s) => (/^\d+$/.test(s) ? Number(s) : NaN));
  if (ids.length === 0 || ids.some((x) => !Number.isSafeInteger(x))) {
    throw new UsageError(`--${flag} takes a comma-separated list of non-negative integers, got "${value}"`);
  }
  return ids;
}

export function parsePositiveInt(flag: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = /^-?\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${flag} must be an integer >= ${min}, got "${value}"`);
  return n;
}

export function oneOf<T extends string>(flag: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`--${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

export async function backendFromFlags(device: string | undefined, threads?: number): Promise<Backend> {
  const name = device ?? 'cpu';
  if (!isDeviceName(name)) throw new UsageError(`unknown --device "${name}"; available: ${DEVICES.join(', ')}`);
  checkThreads(name, threads);
  return createBackend(name, threads === undefined ? {} : { threads });
}

/** --threads sizes the cpu device's OpenMP pool; other devices have no such setting. */
function checkThreads(device: string, threads: number | undefined): void {
  if (threads !== undefined && device !== 'cpu') throw new UsageError(`--threads applies to --device cpu only (got --device ${device})`);
}

export function requireFlag(flag: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) throw new UsageError(`--${flag} is required`);
  return value;
}

// ---- flags shared by the text commands (run, chat, serve, tokenize) ----------------------------

/** --model DIR, or the embedded model (announced on stderr, so stdout stays the answer). */
export function modelDirFlag(value: string | undefined, warn: (m: string) => void = (m) => process.stderr.write(m + '\n')): string {
  if (value !== undefined && value.length > 0) return value;
  warn(`tessera: no --model given; using the embedded model ${DEFAULT_MODEL_DIR}`);
  return DEFAULT_MODEL_DIR;
}

export function parseNumberFlag(flag: string, value: string | undefined, range: { min?: number; max?: number } = {}): number | undefined {
  if (value === undefined) return undefined;
  const n = value.trim() === '' ? NaN : Number(value);
  if (!Number.isFinite(n)) throw new UsageError(`--${flag} must be a number, got "${value}"`);
  if (range.min !== undefined && n < range.min) throw new UsageError(`--${flag} must be >= ${range.min}, got ${value}`);
  if (range.max !== undefined && n > range.max) throw new UsageError(`--${flag} must be <= ${range.max}, got ${value}`);
  return n;
}

export function parseIntFlag(flag: string, value: string | undefined, min = 1): number | undefined {
  if (value === undefined) return undefined;
  return parsePositiveInt(flag, value, 0, min);
}

const BYTE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1e3, kb: 1e3, kib: 1024, m: 1e6, mb: 1e6, mib: 1024 ** 2, g: 1e9, gb: 1e9, gib: 1024 ** 3 };

/** "512MiB", "2GB", "1073741824" -> bytes. */
export function parseBytesFlag(flag: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = BYTE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new UsageError(`--${flag} must be a size such as 512MiB or 2GB, got "${value}"`);
  const bytes = Math.floor(Number(m[1]) * unit);
  if (bytes < 1) throw new UsageError(`--${flag} must be positive, got "${value}"`);
  return bytes;
}

/** parseArgs options for engine sizing (run, chat, serve). */
export const ENGINE_FLAG_OPTIONS = {
  'kv-cache-tokens': { type: 'string' },
  'kv-cache-memory': { type: 'string' },
  'max-num-seqs': { type: 'string' },
  'max-num-batched-tokens': { type: 'string' },
  'max-model-len': { type: 'string' },
  'block-size': { type: 'string' },
  'no-prefix-caching': { type: 'boolean' },
  'kv-cache-dtype': { type: 'string' },
  device: { type: 'string' },
  threads: { type: 'string' },
  'tensor-parallel': { type: 'string' },
  'expert-parallel': { type: 'boolean' },
} as const;

export const ENGINE_FLAGS_USAGE = `[--device cpu|webgpu|js|ref|cuda|hip] [--threads N] [--kv-cache-tokens N | --kv-cache-memory 1GiB] [--kv-cache-dtype auto|f32|f16|bf16] [--max-num-seqs N] [--max-num-batched-tokens N] [--max-model-len N] [--block-size N] [--no-prefix-caching] [--tensor-parallel N [--expert-parallel] (under mpirun -np N)]`;

export interface EngineFlagValues {
  readonly 'tensor-parallel'?: string | undefined;
  readonly 'expert-parallel'?: boolean | undefined;
  readonly 'kv-cache-tokens'?: string | undefined;
  readonly 'kv-cache-memory'?: string | undefined;
  readonly 'max-num-seqs'?: string | undefined;
  readonly 'max-num-batched-tokens'?: string | undefined;
  readonly 'max-model-len'?: string | undefined;
  readonly 'block-size'?: string | undefined;
  readonly 'no-prefix-caching'?: boolean | undefined;
  readonly 'kv-cache-dtype'?: string | undefined;
  readonly device?: string | undefined;
  readonly threads?: string | undefined;
}

/** The CLI flag of each engine option a message names (`maxModelLen` -> `--max-model-len`). */
const ENGINE_OPTION_FLAGS: Readonly<Record<string, string>> = {
  maxModelLen: '--max-model-len',
  maxNumBatchedTokens: '--max-num-batched-tokens',
  maxNumSeqs: '--max-num-seqs',
  kvCacheTokens: '--kv-cache-tokens',
  blockSize: '--block-size',
};

const ENGINE_OPTION_NAMES = new RegExp(`\\b(${Object.keys(ENGINE_OPTION_FLAGS).join('|')})\\b`, 'g');

export function engineFlagNames(message: string): string {
  return message.replace(ENGINE_OPTION_NAMES, (m) => ENGINE_OPTION_FLAGS[m] ?? m);
}

/** Engine flags -> loadTextModel options (device checked here, so a typo fails before loading). */
export function textModelFlags(v: EngineFlagValues): TextModelOptions {
  const device = v.device ?? 'cpu';
  if (!isDeviceName(device)) throw new UsageError(`unknown --device "${device}"; available: ${DEVICES.join(', ')}`);
  if (v['kv-cache-tokens'] !== undefined && v['kv-cache-memory'] !== undefined) throw new UsageError('give --kv-cache-tokens or --kv-cache-memory, not both');
  const engine: TextEngineOptions = {
    ...defined('kvCacheTokens', parseIntFlag('kv-cache-tokens', v['kv-cache-tokens'])),
    ...defined('kvCacheBytes', parseBytesFlag('kv-cache-memory', v['kv-cache-memory'])),
    ...defined('maxNumSeqs', parseIntFlag('max-num-seqs', v['max-num-seqs'])),
    ...defined('maxNumBatchedTokens', parseIntFlag('max-num-batched-tokens', v['max-num-batched-tokens'])),
    ...defined('maxModelLen', parseIntFlag('max-model-len', v['max-model-len'])),
    ...defined('blockSize', parseIntFlag('block-size', v['block-size'])),
    ...(v['no-prefix-caching'] ? { enablePrefixCaching: false } : {}),
  };
  const threads = parseIntFlag('threads', v.threads);
  checkThreads(device, threads);
  return { device, engine, ...defined('threads', threads), ...defined('kvCacheDtype', kvCacheDtypeFlag(v['kv-cache-dtype'])) };
}

/** --kv-cache-dtype: the K/V element type of grouped-query attention models ('auto': the model's default, bf16). */
export function kvCacheDtypeFlag(value: string | undefined): KvDType | undefined {
  const d = oneOf('kv-cache-dtype', value, ['auto', 'f32', 'f16', 'bf16'] as const, 'auto');
  return d === 'auto' ? undefined : d;
}

function defined<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
