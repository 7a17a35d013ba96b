// Products of GGUF block weights with 8-bit activations on integer dot-product instructions (the
// CPU's 'ggml' mode, as llama.cpp computes it): the activations are quantized to their vec_dot
// type (the semantics of ggml-act.ts) as int8, four per word, with the sums of each 16 (the K
// types' offsets meet those) or Q8_1's block sums (Q4_1 / Q5_1's m meets those); then each weight
// row meets each input row through a C micro-kernel (int8-dots-c.ts) that keeps the whole row's
// sum in vector registers. The kernel itself is ordinary DSL: tiles of rows x tokens spread over
// threads, each row's blocks read once per tile while the tile's input rows stay in cache. Only
// the C target spells the micro-kernels; other targets run quant-product.ts, which computes the
// same integer sums in float32.
import { KernelBuilder, custom, i32 } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { QUANT_BLOCKS } from '../formats/dtype.js';
import { INT8_DOT_C, INT8_QUANT_C } from './int8-dots-c.js';
import { rowTokenTiles } from './linear.js';
import type { LinearTile } from './linear.js';
import { ACT_BLOCK, VEC_DOT_TYPE } from '../formats/gguf-act-quant.js';
import type { ActQuantType } from '../formats/gguf-act-quant.js';

/** The block types with an integer micro-kernel. */
export const INT8_DOT_DTYPES = ['Q8_0', 'Q4_0', 'Q4_1', 'Q5_0', 'Q5_1', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K'] as const;
export type Int8DotDType = (typeof INT8_DOT_DTYPES)[number];

export function isInt8DotDType(d: string): d is Int8DotDType {
  return (INT8_DOT_DTYPES as readonly string[]).includes(d);
}

/**
 * The activation sums a micro-kernel takes besides the quants and scales, one per `per` values:
 * Q8_K's sums of each 16 quants (the K types' offsets meet those), Q8_1's s = d·Σq per block (Q4_1
 * and Q5_1's m meets it); none for Q8_0.
 */
export function actSums(d: Int8DotDType): { readonly per: number; readonly type: 'i32' | 'f32' } | null {
  const act = VEC_DOT_TYPE[d];
  if (act === 'Q8_K') return { per: 16, type: 'i32' };
  return act === 'Q8_1' ? { per: 32, type: 'f32' } : null;
}

export function int8ActName(dtype: Int8DotDType): string {
  return `int8_act_${VEC_DOT_TYPE[dtype].toLowerCase()}`;
}

/** The C quantizer of each activation type (int8-dots-c.ts); $0 is the block. */
const QUANTIZE: Readonly<Record<ActQuantType, string>> = {
  Q8_0: 'tessera_quant_q8_0(x + (size_t)$0 * 32, (int8_t*)words + (size_t)$0 * 32)',
  Q8_1: 'tessera_quant_q8_1(x + (size_t)$0 * 32, (int8_t*)words + (size_t)$0 * 32, sums + $0)',
  Q8_K: 'tessera_quant_q8_K(x + (size_t)$0 * 256, (int8_t*)words + (size_t)$0 * 256, sums + (size_t)$0 * 16)',
};

/**
 * x [n] float32 (n a multiple of the activation block) -> llama.cpp's vec_dot type for weights of
 * `dtype` (Q8_0 / Q8_1 per 32, Q8_K per 256): words [n / 4] of four int8 quants (the first in the
 * low byte), scales [n / block] and sums (actSums): Q8_K's [n / 16] of each 16 quants, Q8_1's
 * [n / 32]. One program per block.
 */
export function int8ActKernel(dtype: Int8DotDType): Kernel {
  const k = new KernelBuilder(int8ActName(dtype), 1);
  k.helpers('c', INT8_QUANT_C);
  k.buf('x', 'f32');
  k.buf('words', 'u32', true);
  const scales = k.buf('scales', 'f32', true);
  const sums = actSums(dtype);
  if (sums) k.buf('sums', sums.type, true);
  const blocks = k.scalar('blocks');
  k.programs(blocks);
  const act = VEC_DOT_TYPE[dtype];
  k.work(blocks, i32(ACT_BLOCK[act]));
  // the helper writes the block's quants (and sums) and returns its scale
  scales.set(k.pid, custom('f32', { c: QUANTIZE[act] }, k.pid));
  return k.build();
}

/** The tile of int8 products for `tokens` input rows: 4 weight rows x 1 token (decode) or 8. */
export function int8Tile(tokens: number): LinearTile {
  return { rows: 4, tokens: tokens === 1 ? 1 : 8 };
}

export function int8LinearName(dtype: Int8DotDType, tile: LinearTile): string {
  return `linear_${dtype.toLowerCase()}_i8_r${tile.rows}t${tile.tokens}`;
}

/** The weight a product reads: a matrix parameter, or matrix `item` of a list parameter. */
export type Int8Weight = { readonly buf: string } | { readonly list: string; readonly item: Val };

/**
 * Declares the activation parameters the micro-kernels read through their pointers: x (packed
 * int8), x_scales and, for the types with offsets, x_sums.
 */
export function int8Inputs(k: KernelBuilder, dtype: Int8DotDType): void {
  k.helpers('c', INT8_DOT_C);
  k.buf('x', 'u32');
  k.buf('x_scales', 'f32');
  const sums = actSums(dtype);
  if (sums) k.buf('x_sums', sums.type);
}

/** The C micro-kernels' names (int8-dots-c.ts) end in these. */
const SUFFIX: Readonly<Record<Int8DotDType, string>> = {
  Q8_0: 'q8_0',
  Q4_0: 'q4_0',
  Q4_1: 'q4_1',
  Q5_0: 'q5_0',
  Q5_1: 'q5_1',
  Q2_K: 'q2_K',
  Q3_K: 'q3_K',
  Q4_K: 'q4_K',
  Q5_K: 'q5_K',
  Q6_K: 'q6_K',
};

/** The micro-kernels' name suffix, the weight row's blocks and bytes, the activation block. */
function microKernel(dtype: Int8DotDType, K: Val): { suffix: string; nb: Val; rowBytes: (row: Val) => Val; actBlock: number } {
  const block = QUANT_BLOCKS[dtype];
  const nb = K.div(block.elements);
  return { suffix: SUFFIX[dtype], nb, rowBytes: (row) => row.mul(nb).mul(block.bytes), actBlock: ACT_BLOCK[VEC_DOT_TYPE[dtype]] };
}

/** Σ_k x[xRow, k] · W[wRow, k] over K columns, through the micro-kernel of `dtype`. */
export function int8Dot(dtype: Int8DotDType, w: Int8Weight, wRow: Val, xRow: Val, K: Val): Val {
  const { suffix, nb, rowBytes, actBlock } = microKernel(dtype, K);
  const fn = `tessera_dot_${suffix}`;
  // $0: the row's byte offset, $1: the input row's element offset, $2: its first activation block,
  // $3: the blocks per row, $4: the list item
  const weight = 'buf' in w ? w.buf : `${w.list}[$4]`;
  const per = actSums(dtype)?.per;
  const sums = per ? `x_sums + (size_t)$2 * ${actBlock / per}, ` : '';
  const spelling = `${fn}(${weight} + (size_t)$0, (const int8_t*)x + (size_t)$1, x_scales + $2, ${sums}$3)`;
  const args = [rowBytes(wRow), xRow.mul(K), xRow.mul(K.div(actBlock)), nb];
  return custom('f32', { c: spelling }, ...args, ...('buf' in w ? [] : [w.item]));
}

/**
 * out[outAt + r·outStride] = Σ_k x[xRows[r], k] · W[wRow, k] for the four input rows: the weight
 * row's blocks are unpacked once for all four. `out` names a writable buffer or local array.
 */
export function int8Dot4(k: KernelBuilder, dtype: Int8DotDType, w: Int8Weight, wRow: Val, xRows: readonly Val[], K: Val, out: string, outAt: Val, outStride: Val): void {
  if (xRows.length !== 4) throw new Error(`int8Dot4 takes 4 input rows, got ${xRows.length}`);
  const { suffix, nb, rowBytes, actBlock } = microKernel(dtype, K);
  const fn = `tessera_dot4_${suffix}`;
  // $0 row byte offset, $1 x row stride, $2-$5 the input rows, $6 activation blocks per input
  // row, $7 weight blocks per row, $8 out offset, $9 out stride, $10 the list item
  const weight = 'buf' in w ? w.buf : `${w.list}[$10]`;
  const sums = actSums(dtype) ? 'x_sums, ' : '';
  const spelling = `${fn}(${weight} + (size_t)$0, (const int8_t*)x, $1, $2, $3, $4, $5, x_scales, $6, ${sums}$7, ${out} + (size_t)$8, $9)`;
  k.call({ c: spelling }, rowBytes(wRow), K, ...xRows, K.div(actBlock), nb, outAt, outStride, ...('buf' in w ? [] : [w.item]));
}

/**
 * y [T, N] = x [T, K] · W [N, K]^T with W in GGUF blocks of `dtype` and x the packed int8
 * activations (x_scales: one per activation block, x_sums: actSums). A program is a tile of
 * `rows` weight rows x `tokens` input rows; rows outer, so a row's blocks stay in L1 across tokens.
 */
export function int8LinearKernel(dtype: Int8DotDType, tile: LinearTile): Kernel {
  const { rows: R, tokens: TT } = tile;
  const k = new KernelBuilder(int8LinearName(dtype, tile), 1);
  int8Inputs(k, dtype);
  k.buf('w', 'u8');
  const y = k.buf('y', 'f32', true);
  const T = k.scalar('t');
  const N = k.scalar('n');
  const K = k.scalar('k');
  const { t0, n0 } = rowTokenTiles(k, T, N, R, TT);
  k.work(T, N, K);
  const tokens = k.let(T.sub(t0).min(TT), 'tt');
  const quads = k.let(TT >= 4 ? tokens.div(4) : i32(0), 'quads');
  k.for(0, N.sub(n0).min(R), (i) => {
    const n = k.let(n0.add(i), 'n');
    // four input rows at a time, then the rest one by one
    k.for(0, quads, (g) => {
      const t = k.let(t0.add(g.mul(4)), 't');
      int8Dot4(k, dtype, { buf: 'w' }, n, [0, 1, 2, 3].map((r) => t.add(r)), K, 'y', t.mul(N).add(n), N);
    });
    k.for(quads.mul(4), tokens, (j) => {
      const t = k.let(t0.add(j), 't');
      y.set(t.mul(N).add(n), int8Dot(dtype, { buf: 'w' }, n, t, K));
    });
  });
  return k.build();
}
