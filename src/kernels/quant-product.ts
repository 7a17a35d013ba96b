// Tile products of quantized (GGUF block) weights, read in their file bytes: per block and
// sub-block the integer quants of `rows` weight rows meet `tokens` input rows,
//   part = scale · Σ x·q + offset · Σ x     (per sub-block, float32)
// and the block's parts are summed before they join the row's total. In 'plain' mode x is the
// float32 input, so this is x · dequant(W) up to float32 rounding. In 'ggml' mode x holds the
// integer quants of llama.cpp's activation type (ggml-act.ts): Σ x·q and Σ x are exact, the block
// is scaled by its activation scale d, and with Q8_1 activations (Q4_1, Q5_1 weights) the offset
// m meets the block sum s instead of d·Σx, as ggml_vec_dot_q4_1_q8_1 does. That is the shape of
// llama.cpp's integer dot products, so int8 kernels (VNNI / dp4a) can replace the inner sums.
import { f32, i32 } from '../dsl/builder.js';
import type { BufRef, KernelBuilder, Val, VarRef } from '../dsl/builder.js';
import type { QuantDType } from '../formats/dtype.js';
import { QUANT_CODES } from './quant-blocks.js';
import type { SubBlock } from './quant-blocks.js';

export interface QuantOperands {
  /** [T, K] float32 activations, or ('ggml') their integer quants */
  readonly x: BufRef;
  /** 'ggml': the activations' scale per weight block, [T, K / block] */
  readonly xScales: BufRef | null;
  /** 'ggml' with Q8_1 activations: the block sums s, [T, K / 32] */
  readonly xSums: BufRef | null;
  /** byte i of the weight */
  readonly w: (i: Val) => Val;
  readonly K: Val;
}

/** Σ over l in [0, n) of the `count` values `body` returns: a collective reduce, or one lane's loop. */
export type StepSum = (n: number, count: number, body: (l: Val) => Val[]) => Val[];

/**
 * The steps as a workgroup reduce (CPU targets; GPUs run the lane form: each sub-block's header
 * read at program level is a broadcast there, a barrier each, which makes huge shaders).
 */
export function reduceSteps(k: KernelBuilder): StepSum {
  return (n, _count, body) => k.reduce('sum', n, body);
}

export function laneSteps(k: KernelBuilder): StepSum {
  return (n, count, body) => {
    const acc = Array.from({ length: count }, () => k.var(f32(0), 'st'));
    k.for(0, n, (l) => body(l).forEach((v, i) => acc[i]!.set(acc[i]!.add(v))));
    return acc;
  };
}

/**
 * result[j][i] = Σ_k x[xRows_j, k] · W[wRows_i, k] for a quantized W [N, K] (K a multiple of the
 * block); xRows / wRows already clamped into range.
 */
export function quantProduct(k: KernelBuilder, dtype: QuantDType, ggml: boolean, op: QuantOperands, xRows: Val[], wRows: Val[], steps: StepSum): Val[][] {
  const code = QUANT_CODES[dtype];
  const blocks = k.let(op.K.div(code.elements), 'qblocks');
  const xb = xRows.map((r) => k.let(r.mul(op.K), 'xb'));
  const wb = wRows.map((r) => k.let(r.mul(blocks).mul(code.bytes), 'wb'));
  const pairs = <T>(fn: (j: number, i: number) => T): T[] => xRows.flatMap((_, j) => wRows.map((_, i) => fn(j, i)));
  const P = xRows.length * wRows.length;
  const q81 = ggml && code.act === 'Q8_1';
  const withSums = code.hasOffset && !q81;
  const total: VarRef[] = pairs(() => k.var(f32(0), 'tot'));
  k.for(0, blocks, (b) => {
    const wBase = wb.map((r) => k.let(r.add(b.mul(code.bytes)), 'wq'));
    const xBase = xb.map((r) => k.let(r.add(b.mul(code.elements)), 'xq'));
    const acc: VarRef[] = pairs(() => k.var(f32(0), 'blk'));
    const subBlock = (s: Val): SubBlock[] => {
      const sbs = wBase.map((base) => code.sub(k, op.w, base, s));
      const x0 = code.subs === 1 ? xBase : xBase.map((xq) => k.let(xq.add(s.mul(code.size)), 'xs'));
      // Σ x·q per pair and Σ x per input row over the sub-block's steps
      const sums = steps(code.steps, P + (withSums ? xRows.length : 0), (l) => {
        const terms = sbs.map((sb) => code.terms(k, op.w, sb, l));
        const xv = x0.map((xa) => terms[0]!.map((t) => k.let(op.x.at(xa.add(t.at)), 'xv')));
        const dots = pairs((j, i) => terms[i]!.map((t, n) => xv[j]![n]!.mul(t.q)).reduce((a, c) => a.add(c)));
        return withSums ? [...dots, ...xv.map((v) => v.reduce((a, c) => a.add(c)))] : dots;
      });
      pairs((j, i) => {
        const idx = j * wRows.length + i;
        const sb = sbs[i]!;
        const scaled = sb.scale.mul(sums[idx]!);
        acc[idx]!.set(acc[idx]!.add(withSums ? scaled.add(sb.offset!.mul(sums[P + j]!)) : scaled));
      });
      return sbs;
    };
    // one sub-block (the 32-element types) stays in scope for Q8_1's per-block offset term
    const sbs = code.subs === 1 ? subBlock(i32(0)) : (k.for(0, code.subs, (s) => void subBlock(s)), null);
    const actAt = ggml ? xRows.map((r) => k.let(r.mul(blocks).add(b), 'xsi')) : [];
    pairs((j, i) => {
      const idx = j * wRows.length + i;
      if (!ggml) return total[idx]!.set(total[idx]!.add(acc[idx]!));
      // Q8_1: the block's offset m meets the activations' block sum s
      const scaled = acc[idx]!.mul(op.xScales!.at(actAt[j]!));
      total[idx]!.set(total[idx]!.add(q81 ? scaled.add(sbs![i]!.offset!.mul(op.xSums!.at(actAt[j]!))) : scaled));
    });
  });
  return xRows.map((_, j) => wRows.map((_, i) => total[j * wRows.length + i]!));
}
