// What every renderer shares: walking expressions and statements. A target supplies spellings
// (types, operators, casts, intrinsics) and how program-level constructs are lowered.
import type { BinOp, Expr, Kernel, Param, Scalar, Stmt, Target } from './ir.js';

export const INDENT = '  ';

/** A kernel uses a target intrinsic this renderer has no spelling for. */
export class UnsupportedOnTarget extends Error {
  constructor(
    readonly kernel: string,
    readonly target: string,
  ) {
    super(`kernel ${kernel} uses an intrinsic with no ${target} spelling`);
    this.name = 'UnsupportedOnTarget';
  }
}

export abstract class Renderer {
  abstract readonly target: Target;
  protected kernel!: Kernel;
  protected paramByName = new Map<string, Param>();

  /** Full source of one kernel for this target. */
  render(k: Kernel): string {
    this.kernel = k;
    this.paramByName = new Map(k.params.map((p) => [p.name, p]));
    const helpers = k.helpers[this.target];
    return helpers ? `${helpers}\n${this.renderKernel(k)}` : this.renderKernel(k);
  }

  protected abstract renderKernel(k: Kernel): string;
  protected abstract scalarType(t: Scalar): string;
  protected abstract constant(t: Scalar, v: number): string;
  protected abstract binary(op: BinOp, t: Scalar, operandType: Scalar, a: string, b: string): string;
  protected abstract cast(to: Scalar, from: Scalar, a: string): string;
  protected abstract bitcast(to: Scalar, from: Scalar, a: string): string;
  protected abstract mathCall(fn: Extract<Expr, { k: 'math' }>['fn'], a: string): string;
  protected abstract intrinsic(fn: Extract<Expr, { k: 'intrin' }>['fn'], a: string): string;
  protected abstract load(buf: string, idx: string, t: Scalar): string;
  protected abstract listLoad(list: string, which: string, idx: string, t: Scalar): string;
  protected abstract pid(): string;
  /** Statement lowering differs between CPU-style and GPU-style targets. */
  protected abstract stmt(s: Stmt, depth: number): string[];

  protected expr(e: Expr): string {
    switch (e.k) {
      case 'const':
        return this.constant(e.t, e.v);
      case 'var':
        return e.name;
      case 'pid':
        return this.pid();
      case 'bin':
        return this.binary(e.op, e.t, e.a.t, this.expr(e.a), this.expr(e.b));
      case 'un':
        return e.op === 'neg' ? `(-${this.expr(e.a)})` : e.op === 'not' ? `(!${this.expr(e.a)})` : `(~${this.expr(e.a)})`;
      case 'math':
        return this.mathCall(e.fn, this.expr(e.a));
      case 'cast':
        return e.a.t === e.t ? this.expr(e.a) : this.cast(e.t, e.a.t, this.expr(e.a));
      case 'bitcast':
        return e.a.t === e.t ? this.expr(e.a) : this.bitcast(e.t, e.a.t, this.expr(e.a));
      case 'select':
        return this.select(this.expr(e.c), this.expr(e.a), this.expr(e.b));
      case 'load':
        return this.load(e.buf, this.expr(e.idx), e.t);
      case 'listload':
        return this.listLoad(e.list, this.expr(e.which), this.expr(e.idx), e.t);
      case 'intrin':
        return this.intrinsic(e.fn, this.expr(e.a));
      case 'custom':
        return `(${this.spell(e.spellings, e.args)})`;
    }
  }

  /** A custom spelling for this target with its arguments in place. */
  protected spell(spellings: Readonly<Partial<Record<Target, string>>>, argExprs: readonly Expr[]): string {
    const spelling = spellings[this.target];
    if (spelling === undefined) throw new UnsupportedOnTarget(this.kernel.name, this.target);
    const args = argExprs.map((a) => this.expr(a));
    return spelling.replace(/\$(\d+)/g, (_, i: string) => args[Number(i)] ?? '');
  }

  protected select(c: string, a: string, b: string): string {
    return `(${c} ? ${a} : ${b})`;
  }

  protected block(body: readonly Stmt[], depth: number): string[] {
    return body.flatMap((s) => this.stmt(s, depth));
  }

  protected line(depth: number, text: string): string {
    return INDENT.repeat(depth) + text;
  }
}

/** Infix spelling shared by C-like languages (C, CUDA, HIP, WGSL; JS overrides numerics). */
export const INFIX: Partial<Record<BinOp, string>> = {
  add: '+', sub: '-', mul: '*', div: '/', mod: '%',
  lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=',
  and: '&&', or: '||', band: '&', bor: '|', bxor: '^', shl: '<<', shr: '>>',
};

/**
 * Shared-memory arrays for a collective reduce of values of `types`: one `red_<type>_<j>` per value,
 * numbered per type; `sizes` keeps the most each type needs across the kernel (declared once).
 */
export function reductionArrays(types: readonly Scalar[], sizes: Map<Scalar, number>): string[] {
  const slots = new Map<Scalar, number>();
  return types.map((t) => {
    const j = slots.get(t) ?? 0;
    slots.set(t, j + 1);
    sizes.set(t, Math.max(sizes.get(t) ?? 0, j + 1));
    return `red_${t}_${j}`;
  });
}

/** A constant in C-family syntax (C, CUDA, HIP): floats with an `f` suffix, the target's infinities and booleans. */
export function cFamilyConstant(t: Scalar, v: number, spell: { readonly inf: string; readonly negInf: string; readonly bool: readonly [string, string] }): string {
  if (t === 'f32') {
    if (v === Infinity) return spell.inf;
    if (v === -Infinity) return spell.negInf;
    const s = String(Math.fround(v));
    return /[.e]/.test(s) ? `${s}f` : `${s}.0f`;
  }
  if (t === 'u32') return `${v >>> 0}u`;
  if (t === 'bool') return v ? spell.bool[0] : spell.bool[1];
  return v === -2147483648 ? '(-2147483647 - 1)' : String(v | 0);
}
