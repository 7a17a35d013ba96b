// Flags and helpers shared by the CLI commands.
import { UsageError } from './cli-error.js';
import { DEVICES, createBackend, isDeviceName } from '../backends/registry.js';
import type { Backend } from '../backends/backend.js';

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
  const n = /^\d+$/.test(value) ? Number(value) : NaN;
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
  return createBackend(name, threads === undefined ? {} : { threads });
}

export function requireFlag(flag: string, value: string | undefined): string {
  if (value === undefined || value.length === 0) throw new UsageError(`--${flag} is required`);
  return value;
}
