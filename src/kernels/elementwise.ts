// Elementwise and data-movement kernels.
import { KernelBuilder, f32, math, select } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { isQuantDType } from '../formats/dtype.js';
import type { QuantDType } from '../formats/dtype.js';
import type { WeightDType } from '../ops/tensors.js';
import { decodeWeight, weightElem } from './weight-decode.js';
import { QUANT_CODES, dequantTerm } from './quant-blocks.js';

/** Elements handled by one program of a flat elementwise kernel. */
export const CHUNK = 4096;

function flat(name: string, body: (k: KernelBuilder, n: ReturnType<KernelBuilder['scalar']>) => (i: ReturnType<KernelBuilder['scalar']>) => void): Kernel {
  const k = new KernelBuilder(name, 256);
  const n = k.scalar('n');
  const fn = body(k, n);
  k.programs(n.add(CHUNK - 1).div(CHUNK));
  k.work(n);
  const base = k.let(k.pid.mul(CHUNK), 'base');
  k.parallel(n.sub(base).min(CHUNK), (i) => fn(base.add(i)));
  return k.build();
}

/** y = a + b */
export function addKernel(): Kernel {
  return flat('add', (k) => {
    const a = k.buf('a', 'f32');
    const b = k.buf('b', 'f32');
    const y = k.buf('y', 'f32', true);
    return (i) => y.set(i, a.at(i).add(b.at(i)));
  });
}

/** y[r, c] = x[r, c] + bias[c] (bias in its file dtype) */
export function addBiasKernel(dtype: WeightDType): Kernel {
  return flat(`add_bias_${dtype.toLowerCase()}`, (k) => {
    const x = k.buf('x', 'f32');
    const bias = k.buf('bias', weightElem(dtype));
    const y = k.buf('y', 'f32', true);
    const cols = k.scalar('cols');
    return (i) => y.set(i, x.at(i).add(decodeWeight(dtype, bias.at(i.mod(cols)))));
  });
}

/** y = silu(g) * u */
export function siluMulKernel(): Kernel {
  return flat('silu_mul', (k) => {
    const g = k.buf('g', 'f32');
    const u = k.buf('u', 'f32');
    const y = k.buf('y', 'f32', true);
    return (i) => {
      const gv = k.let(g.at(i), 'g');
      y.set(i, gv.div(math('exp', gv.neg()).add(1)).mul(u.at(i)));
    };
  });
}

/** dst[dstOff + i] = src[srcOff + i] */
export function copyKernel(): Kernel {
  const k = new KernelBuilder('copy', 256);
  const src = k.buf('src', 'f32');
  const dst = k.buf('dst', 'f32', true);
  const n = k.scalar('n');
  const srcOff = k.scalar('src_off');
  const dstOff = k.scalar('dst_off');
  k.programs(n.add(CHUNK - 1).div(CHUNK));
  k.work(n);
  const base = k.let(k.pid.mul(CHUNK), 'base');
  k.parallel(n.sub(base).min(CHUNK), (i) => dst.set(dstOff.add(base).add(i), src.at(srcOff.add(base).add(i))));
  return k.build();
}

/** x [R, C] seen as [R, groups, C/groups] -> y [R, groups*len]: columns [start, start+len) of each group */
export function narrowKernel(): Kernel {
  const k = new KernelBuilder('narrow', 128);
  const x = k.buf('x', 'f32');
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const groups = k.scalar('groups');
  const start = k.scalar('start');
  const len = k.scalar('len');
  k.programs(rows);
  k.work(rows, cols);
  const width = k.let(cols.div(groups), 'width');
  const out = k.let(groups.mul(len), 'out');
  k.parallel(out, (i) => {
    const g = k.let(i.div(len), 'g');
    y.set(k.pid.mul(out).add(i), x.at(k.pid.mul(cols).add(g.mul(width)).add(start).add(i.sub(g.mul(len)))));
  });
  return k.build();
}

/** y[i, :] = x[idx[i], :] */
export function gatherRowsKernel(): Kernel {
  const k = new KernelBuilder('gather_rows', 128);
  const x = k.buf('x', 'f32');
  const idx = k.buf('idx', 'i32');
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  k.programs(rows);
  k.work(rows, cols);
  const src = k.let(idx.at(k.pid).mul(cols), 'src');
  k.parallel(cols, (i) => y.set(k.pid.mul(cols).add(i), x.at(src.add(i))));
  return k.build();
}

/**
 * out[t, :] = table[ids[t], :] decoded (FP8 tables times their block scales, GGUF blocks
 * dequantized as llama.cpp's get_rows does, bit for bit). With `rowBlock`
 * (GPUs that cannot bind the whole table), `table` holds rows [row0, row0 + row_count) only and
 * rows whose id is outside are left untouched.
 */
export function embedKernel(dtype: WeightDType, rowBlock = false): Kernel {
  const k = new KernelBuilder(`embed_${dtype.toLowerCase()}${rowBlock ? '_rows' : ''}`, 128);
  const ids = k.buf('ids', 'i32');
  const table = k.buf('table', weightElem(dtype));
  const scales = dtype === 'F8_E4M3' ? k.buf('scales', 'f32') : null;
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const row0 = rowBlock ? k.scalar('row0') : null;
  const rowCount = rowBlock ? k.scalar('row_count') : null;
  k.programs(rows);
  k.work(rows, cols);
  const id = k.let(row0 ? ids.at(k.pid).sub(row0) : ids.at(k.pid), 'id');
  const quant = isQuantDType(dtype) ? dtype : null;
  const body = () =>
    quant ? embedQuantRow(k, quant, (b) => table.at(b), id, cols, (i, v) => out.set(k.pid.mul(cols).add(i), v)) :
    k.parallel(cols, (i) => {
      const v = decodeWeight(dtype, table.at(id.mul(cols).add(i)));
      const blocks = cols.add(127).div(128);
      out.set(k.pid.mul(cols).add(i), scales ? v.mul(scales.at(id.div(128).mul(blocks).add(i.div(128)))) : v);
    });
  if (rowCount) k.if(id.ge(0).and(id.lt(rowCount)), body);
  else body();
  return k.build();
}

/** Row `id` of a quantized table: every step of every sub-block of every block, in parallel. */
function embedQuantRow(k: KernelBuilder, dtype: QuantDType, w: (b: Val) => Val, id: Val, cols: Val, put: (i: Val, v: Val) => void): void {
  const code = QUANT_CODES[dtype];
  const perBlock = code.subs * code.steps;
  const blocks = k.let(cols.div(code.elements), 'blocks');
  k.parallel(blocks.mul(perBlock), (u) => {
    const b = k.let(u.div(perBlock), 'b');
    const s = k.let(u.mod(perBlock).div(code.steps), 's');
    const base = k.let(id.mul(blocks).add(b).mul(code.bytes), 'base');
    const sb = code.sub(k, w, base, s);
    const at = k.let(b.mul(code.elements).add(s.mul(code.size)), 'at');
    for (const t of code.terms(k, w, sb, u.mod(code.steps))) put(at.add(t.at), dequantTerm(sb, t.q));
  });
}

/** RMSNorm: y = w * (x / sqrt(mean(x^2) + eps)), per row */
export function rmsNormKernel(dtype: WeightDType): Kernel {
  const k = new KernelBuilder(`rmsnorm_${dtype.toLowerCase()}`, 128);
  const x = k.buf('x', 'f32');
  const w = k.buf('w', weightElem(dtype));
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const eps = k.scalar('eps', 'f32');
  k.programs(rows);
  k.work(rows, cols);
  const base = k.let(k.pid.mul(cols), 'base');
  const [ss] = k.reduce('sum', cols, (i) => {
    const v = k.let(x.at(base.add(i)), 'x');
    return [v.mul(v)];
  });
  const inv = k.let(f32(1).div(math('sqrt', ss!.div(cols.f32()).add(eps))), 'inv');
  k.parallel(cols, (i) => y.set(base.add(i), decodeWeight(dtype, w.at(i)).mul(x.at(base.add(i)).mul(inv))));
  return k.build();
}

/** LayerNorm with weight and bias, per row */
export function layerNormKernel(dtype: WeightDType): Kernel {
  const k = new KernelBuilder(`layernorm_${dtype.toLowerCase()}`, 128);
  const x = k.buf('x', 'f32');
  const w = k.buf('w', weightElem(dtype));
  const b = k.buf('b', weightElem(dtype));
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const eps = k.scalar('eps', 'f32');
  k.programs(rows);
  k.work(rows, cols);
  const base = k.let(k.pid.mul(cols), 'base');
  const [sum] = k.reduce('sum', cols, (i) => [x.at(base.add(i))]);
  const mean = k.let(sum!.div(cols.f32()), 'mean');
  const [sq] = k.reduce('sum', cols, (i) => {
    const d = k.let(x.at(base.add(i)).sub(mean), 'd');
    return [d.mul(d)];
  });
  const inv = k.let(f32(1).div(math('sqrt', sq!.div(cols.f32()).add(eps))), 'inv');
  k.parallel(cols, (i) =>
    y.set(base.add(i), x.at(base.add(i)).sub(mean).mul(inv).mul(decodeWeight(dtype, w.at(i))).add(decodeWeight(dtype, b.at(i)))),
  );
  return k.build();
}

/** Rotary embedding of dims [start, start+ropeDim) of each group, interleaved or half-split pairs. */
export function ropeKernel(layout: 'interleaved' | 'half'): Kernel {
  const k = new KernelBuilder(`rope_${layout}`, 64);
  const x = k.buf('x', 'f32');
  const cos = k.buf('cos', 'f32');
  const sin = k.buf('sin', 'f32');
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const groups = k.scalar('groups');
  const start = k.scalar('start');
  const half = k.scalar('half');
  const rowOffset = k.scalar('row_offset');
  k.programs(rows);
  k.work(rows, cols);
  const base = k.let(k.pid.mul(cols), 'base');
  k.parallel(cols, (i) => y.set(base.add(i), x.at(base.add(i))));
  const width = k.let(cols.div(groups), 'width');
  const tb = k.let(k.pid.add(rowOffset).mul(half), 'tb');
  k.parallel(groups.mul(half), (p) => {
    const g = k.let(p.div(half), 'g');
    const j = k.let(p.sub(g.mul(half)), 'j');
    const o = k.let(base.add(g.mul(width)).add(start), 'o');
    const ia = k.let(layout === 'interleaved' ? o.add(j.mul(2)) : o.add(j), 'ia');
    const ib = k.let(layout === 'interleaved' ? ia.add(1) : ia.add(half), 'ib');
    const x0 = k.let(x.at(ia), 'x0');
    const x1 = k.let(x.at(ib), 'x1');
    const c = k.let(cos.at(tb.add(j)), 'c');
    const s = k.let(sin.at(tb.add(j)), 's');
    y.set(ia, x0.mul(c).sub(x1.mul(s)));
    y.set(ib, x0.mul(s).add(x1.mul(c)));
  });
  return k.build();
}

/**
 * Index of the largest value of each row (the first on ties), as greedy decoding picks it: a max
 * reduction, then the smallest index holding that max.
 */
export function argmaxKernel(): Kernel {
  const k = new KernelBuilder('argmax', 256);
  const x = k.buf('x', 'f32');
  const out = k.buf('out', 'i32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  k.programs(rows);
  k.work(rows, cols);
  const base = k.let(k.pid.mul(cols), 'base');
  const [m] = k.reduce('max', cols, (i) => [x.at(base.add(i))]);
  // min over indices holding the max (as a float: the reductions are f32/i32 sums and f32 max)
  const [neg] = k.reduce('max', cols, (i) => [select(x.at(base.add(i)).eq(m!), i.f32().neg(), f32(-Infinity))]);
  out.set(k.pid, neg!.neg().i32());
  return k.build();
}
