// Lowering for CPU targets (C, JS): programs are iterations of an outer loop (spread over threads),
// `parallel` is an inner loop the compiler may vectorize, `reduce` a loop with accumulators.
import type { Expr, Scalar, Stmt } from './ir.js';
import { Renderer } from './render-base.js';

export abstract class CpuRenderer extends Renderer {
  protected abstract declare(name: string, t: Scalar, init: string, mutable: boolean): string;
  protected abstract forHeader(v: string, from: string, to: string): string;
  /** Pragmas placed before loops (C: OpenMP simd), none by default. */
  protected simdPragma(_reduction: { op: 'sum' | 'max'; accs: readonly string[] } | null): string | null {
    return null;
  }
  protected abstract accumulate(op: 'sum' | 'max', t: Scalar, acc: string, value: string): string;
  protected abstract identity(op: 'sum' | 'max', t: Scalar): string;
  /** A reduction term as the accumulator takes it (a target may keep it wider than its type). */
  protected reductionTerm(_op: 'sum' | 'max', e: Expr): string {
    return this.expr(e);
  }
  /** Statements after a reduction loop (a target with wider accumulators rounds them here). */
  protected finishReduction(_op: 'sum' | 'max', _t: Scalar, _acc: string): string | null {
    return null;
  }

  protected stmt(s: Stmt, depth: number): string[] {
    const L = (text: string) => this.line(depth, text);
    switch (s.k) {
      case 'let':
        return [L(this.declare(s.name, s.t, this.expr(s.init), s.mutable))];
      case 'assign':
        return [L(`${s.name} = ${this.expr(s.value)};`)];
      case 'store':
        return [L(`${this.storeTarget(s.buf, this.expr(s.idx))} = ${this.storeValue(s.buf, this.expr(s.value))};`)];
      case 'for':
        return [L(`${this.forHeader(s.v, this.expr(s.from), this.expr(s.to))} {`), ...this.block(s.body, depth + 1), L('}')];
      case 'if': {
        const out = [L(`if (${this.expr(s.c)}) {`), ...this.block(s.then, depth + 1)];
        if (s.else.length) out.push(L('} else {'), ...this.block(s.else, depth + 1));
        return [...out, L('}')];
      }
      case 'prefetch':
        return this.prefetch(s).map(L);
      case 'call':
        return [L(`${this.spell(s.spellings, s.args)};`)];
      case 'parallel': {
        const simple = s.body.every((b) => b.k !== 'for' && b.k !== 'if' && b.k !== 'reduce');
        const pragma = simple ? this.simdPragma(null) : null;
        return [
          ...(pragma ? [L(pragma)] : []),
          L(`${this.forHeader(s.v, '0', this.expr(s.n))} {`),
          ...this.block(s.body, depth + 1),
          L('}'),
        ];
      }
      case 'reduce': {
        const types = s.values.map((v) => v.t);
        const pragma = this.simdPragma({ op: s.op, accs: s.accs });
        return [
          ...s.accs.map((a, j) => L(this.declare(a, types[j]!, this.identity(s.op, types[j]!), true))),
          ...(pragma ? [L(pragma)] : []),
          L(`${this.forHeader(s.v, '0', this.expr(s.n))} {`),
          ...this.block(s.body, depth + 1),
          ...s.accs.map((a, j) => this.line(depth + 1, this.accumulate(s.op, types[j]!, a, this.reductionTerm(s.op, s.values[j]!)))),
          L('}'),
          ...s.accs.flatMap((a, j) => {
            const fin = this.finishReduction(s.op, types[j]!, a);
            return fin ? [L(fin)] : [];
          }),
        ];
      }
    }
  }

  /** A cache prefetch for the hint, or nothing where the target has none. */
  protected prefetch(_s: Extract<Stmt, { k: 'prefetch' }>): string[] {
    return [];
  }

  protected storeTarget(buf: string, idx: string): string {
    return `${buf}[${idx}]`;
  }
  protected storeValue(_buf: string, value: string): string {
    return value;
  }
}
