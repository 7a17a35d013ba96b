// A GPU variant of the dense linear (linear.ts) without workgroup reductions: each lane owns one
// weight row and sums over K on its own for `tokens` input rows. Workgroup reductions synchronize
// the whole workgroup several times per output, which software GPUs (lavapipe, SwiftShader) pay
// dearly for; here a program needs no barrier at all. Numerics as linear.ts: float32 sums per
// 128-wide block, FP8 weights times the block's scale (and the input's, in 'fp8-act' mode); GGUF
// block weights per block and sub-block as quant-product.ts sums them.
import { KernelBuilder, f32 } from '../dsl/builder.js';
import type { Val, VarRef } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { isQuantDType } from '../formats/dtype.js';
import { decodeWeight, weightElem } from './weight-decode.js';
import { inputScales, linearName } from './linear.js';
import { laneSteps, quantProduct } from './quant-product.js';
import type { LinearSpec } from './linear.js';

/** Weight rows per program (one per lane). */
export const LANE_ROWS = 64;

export interface LanesSpec extends LinearSpec {
  /**
   * y is the column block [y_col0, y_col0 + n) of a [t, y_cols] matrix: how a weight too large
   * for one binding (WebGPU's maxStorageBufferBindingSize) runs, one launch per row block.
   */
  readonly outBlock: boolean;
}

export function linearLanesName(spec: LanesSpec): string {
  return `${linearName(spec, 'linear_lanes')}${spec.outBlock ? '_ob' : ''}`;
}

/** x [T, K] · W [N, K]^T -> y [T, N] (or a column block of y, with spec.outBlock). */
export function linearLanesKernel(spec: LanesSpec): Kernel {
  const TT = spec.tile.tokens;
  const fp8 = spec.dtype === 'F8_E4M3';
  const k = new KernelBuilder(linearLanesName(spec), LANE_ROWS);
  const x = k.buf('x', 'f32');
  const { xScales, xSums } = inputScales(k, spec);
  const w = k.buf('w', weightElem(spec.dtype));
  const wScales = fp8 ? k.buf('w_scales', 'f32') : null;
  const y = k.buf('y', 'f32', true);
  const T = k.scalar('t');
  const N = k.scalar('n');
  const K = k.scalar('k');
  const yCols = spec.outBlock ? k.scalar('y_cols') : N;
  const yCol0 = spec.outBlock ? k.scalar('y_col0') : null;
  const tiles = k.let(T.add(TT - 1).div(TT), 'tiles');
  k.programs(N.add(LANE_ROWS - 1).div(LANE_ROWS).mul(tiles));
  const rb = k.let(k.pid.div(tiles), 'rb');
  const t0 = k.let(k.pid.sub(rb.mul(tiles)).mul(TT), 't0');
  const kBlocks = k.let(K.add(127).div(128), 'kblocks');
  const store = (n: Val, j: number, v: Val) => k.if(t0.add(j).lt(T), () => y.set(t0.add(j).mul(yCols).add(yCol0 ? n.add(yCol0) : n), v));
  k.parallel(N.sub(rb.mul(LANE_ROWS)).min(LANE_ROWS), (i) => {
    const n = k.let(rb.mul(LANE_ROWS).add(i), 'n');
    const xRows = Array.from({ length: TT }, (_, j) => k.let(t0.add(j).min(T.sub(1)), 'xr'));
    if (isQuantDType(spec.dtype)) {
      const acc = quantProduct(k, spec.dtype, spec.mode === 'ggml', { x, xScales, xSums, w: (b) => w.at(b), K }, xRows, [n], laneSteps(k));
      return acc.forEach((row, j) => store(n, j, row[0]!));
    }
    const wb = k.let(n.mul(K), 'wb');
    const xb = xRows.map((r) => k.let(r.mul(K), 'xb'));
    const acc = xRows.map(() => k.var(f32(0), 'acc'));
    const dot = (from: Val, to: Val, into: VarRef[]) =>
      k.for(from, to, (kk) => {
        const wv = k.let(decodeWeight(spec.dtype, w.at(wb.add(kk))), 'wv');
        xb.forEach((b, j) => into[j]!.set(into[j]!.add(x.at(b.add(kk)).mul(wv))));
      });
    // Two-level sums (128-wide blocks, then the blocks): a single float32 chain over K would be
    // several times less accurate than the other backends' FMAs over partial sums.
    k.for(0, kBlocks, (kb) => {
      const k0 = k.let(kb.mul(128), 'k0');
      const part = xRows.map(() => k.var(f32(0), 'part'));
      dot(k0, k0.add(128).min(K), part);
      const ws = fp8 ? k.let(wScales!.at(n.div(128).mul(kBlocks).add(kb)), 'ws') : null;
      xRows.forEach((r, j) => {
        const scale = ws && xScales ? xScales.at(r.mul(kBlocks).add(kb)).mul(ws) : ws;
        acc[j]!.set(acc[j]!.add(scale ? part[j]!.mul(scale) : part[j]!));
      });
    });
    acc.forEach((a, j) => store(n, j, a));
  });
  return k.build();
}
