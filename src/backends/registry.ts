// Choosing a backend is a flag: --device NAME.
import type { Backend } from './backend.js';
import { RefBackend } from './ref/ref-backend.js';

export const DEVICES = ['ref'] as const;
export type DeviceName = (typeof DEVICES)[number];

export interface BackendOptions {
  readonly threads?: number;
}

export function isDeviceName(s: string): s is DeviceName {
  return (DEVICES as readonly string[]).includes(s);
}

export async function createBackend(device: DeviceName, _options: BackendOptions = {}): Promise<Backend> {
  switch (device) {
    case 'ref':
      return new RefBackend();
  }
}
