// Access to the copied DeepSeek reference fixtures (test/fixtures/deepseek) from compiled tests.
import { readF32, readI32 } from '../../src/conformance/golden-files.js';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

/** Repository root, found from this file's compiled location dist/test/helpers/. */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const deepseekFixtures = join(repoRoot, 'test', 'fixtures', 'deepseek');

export function fixturePath(...parts: string[]): string {
  return join(deepseekFixtures, ...parts);
}

export { readF32, readI32 };

export function readOp(name: string): Float32Array {
  return readF32(fixturePath('ops', 'bin', `${name}.f32.bin`));
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length mismatch ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
