// Dot products of int8 vectors packed four per u32, through the target-intrinsic escape hatch
// (WGSL dot4I8Packed, a C helper, a JS helper): the building block of int8-quantized matmuls.
import { KernelBuilder, custom } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';

export const DOT4_I8 = {
  c: 'tessera_dot4i8($0, $1)',
  js: 'rt.dot4i8($0, $1)',
  wgsl: 'dot4I8Packed($0, $1)',
  cuda: '__dp4a((int)($0), (int)($1), 0)',
  hip: '__builtin_amdgcn_sdot4((int)($0), (int)($1), 0, false)',
} as const;

/** out[r] = Σ_w dot4(a[r, w], b[w]) over rows of `words` packed words. */
export function int8DotKernel(): Kernel {
  const k = new KernelBuilder('int8_dot', 64);
  const a = k.buf('a', 'u32');
  const b = k.buf('b', 'u32');
  const out = k.buf('out', 'i32', true);
  const rows = k.scalar('rows');
  const words = k.scalar('words');
  k.programs(rows);
  const [sum] = k.reduce('sum', words, (w) => [custom('i32', DOT4_I8, a.at(k.pid.mul(words).add(w)), b.at(w))]);
  out.set(k.pid, sum!);
  return k.build();
}
