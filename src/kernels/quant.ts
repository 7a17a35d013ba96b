// Block FP8 quantization kernels: activation quantization, the KV-latent round trip and the
// indexer's Hadamard rotation + quantization. One program per (row, 128-block).
import { KernelBuilder, f32, i32, intrin, math } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { e4m3Code, plainScale, ue8m0Scale } from './dsl-fp8.js';

/** Scale of one block (and x -> x/s as an exact product for ue8m0). */
function blockScale(k: KernelBuilder, amax: Val, format: 'ue8m0' | 'plain'): { scale: Val; apply: (x: Val) => Val } {
  if (format === 'ue8m0') {
    const { scale, inv } = ue8m0Scale(k, amax);
    return { scale, apply: (x) => x.mul(inv) };
  }
  const { scale } = plainScale(k, amax);
  return { scale, apply: (x) => x.div(scale) };
}

/**
 * x [rows, cols] -> values [rows, cols] (e4m3 values as f32), scales [rows, ceil(cols/128)].
 * With `roundTrip`, writes values·scale instead (the dequantized tensor) and no scales.
 */
export function actQuantKernel(format: 'ue8m0' | 'plain', roundTrip: boolean): Kernel {
  const k = new KernelBuilder(`${roundTrip ? 'fp8_round_trip' : 'act_quant'}_${format}`, 128);
  const x = k.buf('x', 'f32');
  const y = k.buf('y', 'f32', true);
  const scales = roundTrip ? null : k.buf('scales', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const blocks = k.let(cols.add(127).div(128), 'blocks');
  k.programs(rows.mul(blocks));
  k.work(rows, cols);
  const row = k.let(k.pid.div(blocks), 'row');
  const b = k.let(k.pid.sub(row.mul(blocks)), 'b');
  const base = k.let(row.mul(cols).add(b.mul(128)), 'base');
  const n = k.let(cols.sub(b.mul(128)).min(128), 'n');
  const [amax] = k.reduce('max', n, (i) => [math('abs', x.at(base.add(i)))]);
  const s = blockScale(k, amax!, format);
  scales?.set(k.pid, s.scale);
  k.parallel(n, (i) => {
    const q = intrin('e4m3_to_f32', e4m3Code(k, s.apply(x.at(base.add(i)))));
    y.set(base.add(i), roundTrip ? q.mul(s.scale) : q);
  });
  return k.build();
}

/**
 * DSA indexer: each 128-vector of x [rows, 128·groups] is rotated by the Walsh–Hadamard matrix
 * (times 128^-0.5), then quantized to e4m3 with a ue8m0 scale -> values [rows, 128·groups], scales.
 */
export function hadamardQuantKernel(): Kernel {
  const k = new KernelBuilder('hadamard_quant', 64);
  const x = k.buf('x', 'f32');
  const y = k.buf('y', 'f32', true);
  const scales = k.buf('scales', 'f32', true);
  const vectors = k.scalar('vectors');
  const v = k.local('v', 'f32', 128);
  k.programs(vectors);
  k.work(vectors, i32(128 * 8));
  const base = k.let(k.pid.mul(128), 'base');
  k.parallel(128, (i) => v.set(i, x.at(base.add(i))));
  for (let h = 1; h < 128; h *= 2) {
    k.parallel(64, (p) => {
      // butterfly p of this stage pairs (j, j + h) with j = (p / h) * 2h + p % h
      const j = k.let(p.div(h).mul(2 * h).add(p.mod(h)), 'j');
      const a = k.let(v.at(j), 'a');
      const c = k.let(v.at(j.add(h)), 'c');
      v.set(j, a.add(c));
      v.set(j.add(h), a.sub(c));
    });
  }
  const [amax] = k.reduce('max', 128, (i) => [math('abs', v.at(i).mul(f32(128 ** -0.5)))]);
  const { scale, inv } = ue8m0Scale(k, amax!);
  scales.set(k.pid, scale);
  k.parallel(128, (i) => y.set(base.add(i), intrin('e4m3_to_f32', e4m3Code(k, v.at(i).mul(f32(128 ** -0.5)).mul(inv)))));
  return k.build();
}
