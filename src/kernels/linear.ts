// y = x · W^T with W in its file dtype, as a register tile of `rows` weight rows x `tokens` input
// rows per program: every weight element loaded is used `tokens` times and every x element `rows`
// times. FP8 weights are consumed per 128-wide block with the block's scale; in 'fp8-act' mode the
// input is already quantized (e4m3 values + a scale per row and block). GGUF block weights go
// through quant-product.ts; in 'ggml' mode their input is already quantized (ggml-act.ts).
import { KernelBuilder, f32 } from '../dsl/builder.js';
import type { BufRef, Val, VarRef } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { isQuantDType } from '../formats/dtype.js';
import { VEC_DOT_TYPE } from '../formats/gguf-act-quant.js';
import type { LinearMode, WeightDType } from '../ops/tensors.js';
import { decodeWeight, weightElem } from './weight-decode.js';
import { quantProduct, reduceSteps } from './quant-product.js';

export interface LinearTile {
  /** weight rows per program */
  readonly rows: number;
  /** input rows (tokens) per program */
  readonly tokens: number;
}

export interface LinearSpec {
  readonly dtype: WeightDType;
  readonly mode: LinearMode;
  readonly tile: LinearTile;
}

/** What a kernel's input is: float32, e4m3 ('fp8-act') or llama.cpp's 8-bit quants ('ggml'). */
export function inputTag(mode: LinearMode): string {
  return mode === 'fp8-act' ? 'a8' : mode === 'ggml' ? 'q8' : 'f32';
}

export function linearName(s: LinearSpec, prefix = 'linear'): string {
  return `${prefix}_${s.dtype.toLowerCase()}_${inputTag(s.mode)}_r${s.tile.rows}t${s.tile.tokens}`;
}

/**
 * The input buffers a product of `spec` binds besides x: x_scales (block scales of quantized
 * activations) and, for Q8_1 activations, x_sums.
 */
export function inputScales(k: KernelBuilder, spec: Pick<LinearSpec, 'dtype' | 'mode'>): { xScales: BufRef | null; xSums: BufRef | null } {
  const quantized = spec.mode === 'fp8-act' || spec.mode === 'ggml';
  const q81 = spec.mode === 'ggml' && isQuantDType(spec.dtype) && VEC_DOT_TYPE[spec.dtype] === 'Q8_1';
  return { xScales: quantized ? k.buf('x_scales', 'f32') : null, xSums: q81 ? k.buf('x_sums', 'f32') : null };
}

/** Operands of one tile product, however the weight is addressed (a matrix or one of a list). */
export interface TileOperands {
  readonly x: BufRef;
  /** row scales of a quantized x: [T, ceil(K/128)] (FP8), [T, K/block] ('ggml') */
  readonly xScales: BufRef | null;
  /** Q8_1 activations: block sums [T, K/32] */
  readonly xSums: BufRef | null;
  readonly w: (idx: Val) => Val;
  /** block scale of weight row n, column block kb (FP8) */
  readonly wScale: ((n: Val, kb: Val) => Val) | null;
  /** prefetch hint for a weight element index (as `w` takes) */
  readonly prefetch: (idx: Val) => void;
  readonly K: Val;
}

/**
 * Accumulate the tile: result[j][i] = Σ_k x[xRow_j, k] · W[wRow_i, k] (with FP8 block scales).
 * xRows/wRows are already clamped into range. The weight rows of a tile are contiguous and so are
 * consecutive tiles: while a tile streams through, the next one (rows + R) is prefetched at the
 * same pace, so the memory stream never waits for the hardware prefetcher to find short rows.
 */
export function tileProduct(k: KernelBuilder, spec: LinearSpec, op: TileOperands, xRows: Val[], wRows: Val[]): Val[][] {
  if (isQuantDType(spec.dtype)) return quantProduct(k, spec.dtype, spec.mode === 'ggml', op, xRows, wRows, reduceSteps(k));
  const xb = xRows.map((r) => k.let(r.mul(op.K), 'xb'));
  const wb = wRows.map((r) => k.let(r.mul(op.K), 'wb'));
  const pairs = (fn: (j: number, i: number) => Val) => xRows.flatMap((_, j) => wRows.map((_, i) => fn(j, i)));
  const unflatten = (flat: Val[]) => xRows.map((_, j) => wRows.map((_, i) => flat[j * wRows.length + i]!));
  const nextTile = k.let(wb[0]!.add(op.K.mul(wRows.length)), 'next');

  if (spec.dtype !== 'F8_E4M3') {
    const acc = k.reduce('sum', op.K, (kk) => {
      op.prefetch(nextTile.add(kk.mul(wRows.length)));
      const xv = xb.map((b) => k.let(op.x.at(b.add(kk)), 'xv'));
      const wv = wb.map((b) => k.let(decodeWeight(spec.dtype, op.w(b.add(kk))), 'wv'));
      return pairs((j, i) => xv[j]!.mul(wv[i]!));
    });
    return unflatten(acc);
  }
  // FP8: per 128-block partial products, scaled and summed over blocks.
  const blocks = k.let(op.K.add(127).div(128), 'kblocks');
  const total: VarRef[] = [];
  for (let n = 0; n < xRows.length * wRows.length; n++) total.push(k.var(f32(0), 'tot'));
  k.for(0, blocks, (kb) => {
    const k0 = k.let(kb.mul(128), 'k0');
    const part = k.reduce('sum', op.K.sub(k0).min(128), (kk) => {
      op.prefetch(nextTile.add(k0.add(kk).mul(wRows.length)));
      const xv = xb.map((b) => k.let(op.x.at(b.add(k0).add(kk)), 'xv'));
      const wv = wb.map((b) => k.let(decodeWeight('F8_E4M3', op.w(b.add(k0).add(kk))), 'wv'));
      return pairs((j, i) => xv[j]!.mul(wv[i]!));
    });
    const ws = wRows.map((r) => k.let(op.wScale!(r, kb), 'ws'));
    const xs = op.xScales ? xRows.map((r) => k.let(op.xScales!.at(r.mul(blocks).add(kb)), 'xs')) : null;
    xRows.forEach((_, j) =>
      wRows.forEach((_, i) => {
        const idx = j * wRows.length + i;
        const scale = xs ? xs[j]!.mul(ws[i]!) : ws[i]!;
        total[idx]!.set(total[idx]!.add(part[idx]!.mul(scale)));
      }),
    );
  });
  return unflatten(total);
}

/**
 * Programs over tiles of R weight rows x TT input rows, row-tile major: consecutive programs share
 * weight rows, so a CPU thread reuses them from cache across token tiles. Sets the program count;
 * returns the tile's first input row t0 and first weight row n0.
 */
export function rowTokenTiles(k: KernelBuilder, T: Val, N: Val, R: number, TT: number): { t0: Val; n0: Val } {
  const tileCount = k.let(T.add(TT - 1).div(TT), 'tiles');
  k.programs(N.add(R - 1).div(R).mul(tileCount));
  const rb = k.let(k.pid.div(tileCount), 'rb');
  return { t0: k.let(k.pid.sub(rb.mul(tileCount)).mul(TT), 't0'), n0: k.let(rb.mul(R), 'n0') };
}

/** Dense linear: x [T, K] · W [N, K]^T -> y [T, N]. */
export function linearKernel(spec: LinearSpec): Kernel {
  const { rows: R, tokens: TT } = spec.tile;
  const k = new KernelBuilder(linearName(spec), 64);
  const x = k.buf('x', 'f32');
  const { xScales, xSums } = inputScales(k, spec);
  const w = k.buf('w', weightElem(spec.dtype));
  const wScales = spec.dtype === 'F8_E4M3' ? k.buf('w_scales', 'f32') : null;
  const y = k.buf('y', 'f32', true);
  const T = k.scalar('t');
  const N = k.scalar('n');
  const K = k.scalar('k');
  const { t0, n0 } = rowTokenTiles(k, T, N, R, TT);
  k.work(T, N, K);
  const xRows = Array.from({ length: TT }, (_, j) => k.let(t0.add(j).min(T.sub(1)), 'xr'));
  const wRows = Array.from({ length: R }, (_, i) => k.let(n0.add(i).min(N.sub(1)), 'wr'));
  const kBlocks = K.add(127).div(128);
  const acc = tileProduct(
    k,
    spec,
    { x, xScales, xSums, w: (idx) => w.at(idx), prefetch: (idx) => k.prefetch(w, idx), wScale: wScales ? (n, kb) => wScales.at(n.div(128).mul(kBlocks).add(kb)) : null, K },
    xRows,
    wRows,
  );
  for (let j = 0; j < TT; j++) {
    for (let i = 0; i < R; i++) {
      k.if(t0.add(j).lt(T).and(n0.add(i).lt(N)), () => y.set(t0.add(j).mul(N).add(n0).add(i), acc[j]![i]!));
    }
  }
  return k.build();
}

