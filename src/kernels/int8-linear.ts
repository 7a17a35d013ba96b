// Products of GGUF block weights with 8-bit activations on integer dot-product instructions (the
// CPU's 'ggml' mode, as llama.cpp computes it): the activations, already quantized to their
// vec_dot type by ggml-act.ts, are packed four int8 per word with the sums of each 16 (the K
// types' offsets meet those); then each weight row meets each input row through a C micro-kernel
// (int8-dots-c.ts) that keeps the whole row's sum in vector registers. The kernel itself is
// ordinary DSL: tiles of rows x tokens spread over threads, each row's blocks read once per tile
// while the tile's input rows stay in cache. Only the C target spells the micro-kernels; other
// targets run quant-product.ts, which computes the same integer sums in float32.
import { KernelBuilder, custom, i32 } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { QUANT_BLOCKS } from '../formats/dtype.js';
import { INT8_DOT_C } from './int8-dots-c.js';
import type { LinearTile } from './linear.js';

/** The block types with an integer micro-kernel. */
export const INT8_DOT_DTYPES = ['Q8_0', 'Q4_K', 'Q6_K'] as const;
export type Int8DotDType = (typeof INT8_DOT_DTYPES)[number];

export function isInt8DotDType(d: string): d is Int8DotDType {
  return (INT8_DOT_DTYPES as readonly string[]).includes(d);
}

/** Whether the micro-kernel takes the activations' sums of 16 (the types with offsets). */
export function needsBlockSums(d: Int8DotDType): boolean {
  return d !== 'Q8_0';
}

export function int8PackName(sums: boolean): string {
  return sums ? 'int8_pack_sums16' : 'int8_pack';
}

/**
 * q [n] integer quants as f32 (-128..127; n a multiple of 16) -> words [n / 4] (four int8, the
 * first in the low byte) and, with `sums`, sums [n / 16] of each 16 values. One program per 16.
 */
export function int8PackKernel(sums: boolean): Kernel {
  const k = new KernelBuilder(int8PackName(sums), 16);
  const q = k.buf('q', 'f32');
  const words = k.buf('words', 'u32', true);
  const out = sums ? k.buf('sums', 'i32', true) : null;
  const groups = k.scalar('groups');
  k.programs(groups);
  k.work(groups, i32(16));
  const base = k.let(k.pid.mul(16), 'base');
  const values = Array.from({ length: 16 }, (_, i) => k.let(q.at(base.add(i)).i32(), 'q'));
  for (let w = 0; w < 4; w++) {
    const bytes = values.slice(4 * w, 4 * w + 4).map((v, i) => v.band(255).u32().shl(8 * i));
    words.set(k.pid.mul(4).add(w), bytes.reduce((a, b) => a.bor(b)));
  }
  if (out) out.set(k.pid, values.reduce((a, b) => a.add(b)));
  return k.build();
}

export function int8LinearName(dtype: Int8DotDType, tile: LinearTile): string {
  return `linear_${dtype.toLowerCase()}_i8_r${tile.rows}t${tile.tokens}`;
}

/**
 * y [T, N] = x [T, K] · W [N, K]^T with W in GGUF blocks of `dtype` and x the packed int8
 * activations (x_scales: one per activation block, x_sums: sums of 16). A program is a tile of
 * `rows` weight rows x `tokens` input rows; rows outer, so a row's blocks stay in L1 across tokens.
 */
export function int8LinearKernel(dtype: Int8DotDType, tile: LinearTile): Kernel {
  const { rows: R, tokens: TT } = tile;
  const block = QUANT_BLOCKS[dtype];
  const k = new KernelBuilder(int8LinearName(dtype, tile), 1);
  k.helpers('c', INT8_DOT_C);
  k.buf('x', 'u32');
  // the micro-kernels read these through their pointers
  k.buf('x_scales', 'f32');
  const sums = needsBlockSums(dtype);
  if (sums) k.buf('x_sums', 'i32');
  k.buf('w', 'u8');
  const y = k.buf('y', 'f32', true);
  const T = k.scalar('t');
  const N = k.scalar('n');
  const K = k.scalar('k');
  const tileCount = k.let(T.add(TT - 1).div(TT), 'tiles');
  k.programs(N.add(R - 1).div(R).mul(tileCount));
  k.work(T, N, K);
  const rb = k.let(k.pid.div(tileCount), 'rb');
  const t0 = k.let(k.pid.sub(rb.mul(tileCount)).mul(TT), 't0');
  const n0 = k.let(rb.mul(R), 'n0');
  const nb = k.let(K.div(block.elements), 'nb');
  const actBlock = dtype === 'Q8_0' ? 32 : 256;
  const fn = `tessera_dot_${dtype === 'Q8_0' ? 'q8_0' : dtype === 'Q4_K' ? 'q4_K' : 'q6_K'}`;
  // $0: the row's byte offset, $1: the input row's element offset, $2: its first activation block
  const spelling = sums
    ? `${fn}(w + (size_t)$0, (const int8_t*)x + (size_t)$1, x_scales + $2, x_sums + (size_t)$2 * 16, $3)`
    : `${fn}(w + (size_t)$0, (const int8_t*)x + (size_t)$1, x_scales + $2, $3)`;
  const rowsHere = N.sub(n0).min(R);
  const tokensHere = T.sub(t0).min(TT);
  k.for(0, rowsHere, (i) => {
    const n = k.let(n0.add(i), 'n');
    const wOff = k.let(n.mul(nb).mul(block.bytes), 'wo');
    k.for(0, tokensHere, (j) => {
      const t = k.let(t0.add(j), 't');
      const dot: Val = custom('f32', { c: spelling }, wOff, t.mul(K), t.mul(K.div(actBlock)), nb);
      y.set(t.mul(N).add(n), dot);
    });
  });
  return k.build();
}
