// JavaScript for the zero-dependency fallback backend: float32 semantics by Math.fround on every
// f32 result, i32/u32 by |0 and >>>0, buffers as typed arrays. Float sums accumulate in float64
// with exact products and round once at the end: C contracts `acc + a*b` into a fused multiply-add
// over 8-16 partial sums, and a float32 chain rounding every product and every partial sum would be
// several times less accurate than that (enough to move values across e4m3 rounding boundaries).
import type { BinOp, Expr, Kernel, Scalar } from './ir.js';
import { CpuRenderer } from './render-cpu.js';

const JS_MATH: Record<string, string> = { exp: 'Math.exp', log: 'Math.log', sqrt: 'Math.sqrt', sin: 'Math.sin', cos: 'Math.cos', abs: 'Math.abs', floor: 'Math.floor', ceil: 'Math.ceil', log2: 'Math.log2', exp2: '2 ** ' };

export class JsRenderer extends CpuRenderer {
  readonly target = 'js';

  /** Source of a function body taking the kernel's params (in order) plus the runtime helpers `rt`. */
  protected renderKernel(k: Kernel): string {
    return [
      `const { u2f, f2u, f16, E4M3 } = rt;`,
      `const programs = ${this.expr(k.programs)};`,
      `for (let pid = 0; pid < programs; pid++) {`,
      ...k.locals.map((l) => this.line(1, `const ${l.name} = new ${l.elem === 'f32' ? 'Float32Array' : l.elem === 'i32' ? 'Int32Array' : 'Uint32Array'}(${l.size});`)),
      ...this.block(k.body, 1),
      `}`,
    ].join('\n');
  }

  protected scalarType(t: Scalar): string {
    return t;
  }
  protected constant(t: Scalar, v: number): string {
    if (t === 'f32') return Number.isFinite(v) ? String(Math.fround(v)) : v > 0 ? 'Infinity' : '-Infinity';
    if (t === 'u32') return String(v >>> 0);
    if (t === 'bool') return v ? 'true' : 'false';
    return String(v | 0);
  }
  protected binary(op: BinOp, t: Scalar, ot: Scalar, a: string, b: string): string {
    const f = (s: string) => `Math.fround(${s})`;
    switch (op) {
      case 'lt': return `(${a} < ${b})`;
      case 'le': return `(${a} <= ${b})`;
      case 'gt': return `(${a} > ${b})`;
      case 'ge': return `(${a} >= ${b})`;
      case 'eq': return `(${a} === ${b})`;
      case 'ne': return `(${a} !== ${b})`;
      case 'and': return `(${a} && ${b})`;
      case 'or': return `(${a} || ${b})`;
      case 'max': return `Math.max(${a}, ${b})`;
      case 'min': return `Math.min(${a}, ${b})`;
      default:
    }
    if (ot === 'f32') {
      const sym = { add: '+', sub: '-', mul: '*', div: '/', mod: '%' }[op as 'add'];
      if (!sym) throw new Error(`${op} on f32`);
      return f(`${a} ${sym} ${b}`);
    }
    const wrap = t === 'u32' ? (s: string) => `((${s}) >>> 0)` : (s: string) => `((${s}) | 0)`;
    switch (op) {
      case 'add': return wrap(`${a} + ${b}`);
      case 'sub': return wrap(`${a} - ${b}`);
      case 'mul': return wrap(`Math.imul(${a}, ${b})`);
      case 'div': return wrap(`${a} / ${b}`);
      case 'mod': return wrap(`${a} % ${b}`);
      case 'band': return wrap(`${a} & ${b}`);
      case 'bor': return wrap(`${a} | ${b}`);
      case 'bxor': return wrap(`${a} ^ ${b}`);
      case 'shl': return wrap(`${a} << ${b}`);
      case 'shr': return t === 'u32' ? `(${a} >>> ${b})` : `(${a} >> ${b})`;
      default: throw new Error(`unhandled ${op}`);
    }
  }
  protected cast(to: Scalar, from: Scalar, a: string): string {
    if (to === 'f32') return from === 'bool' ? `(${a} ? 1 : 0)` : `Math.fround(${a})`;
    if (from === 'bool') return `(${a} ? 1 : 0)`;
    if (to === 'bool') return `(${a} !== 0)`;
    if (from === 'f32') return to === 'u32' ? `(Math.trunc(${a}) >>> 0)` : `(Math.trunc(${a}) | 0)`;
    return to === 'u32' ? `((${a}) >>> 0)` : `((${a}) | 0)`;
  }
  protected bitcast(to: Scalar, from: Scalar, a: string): string {
    if (to === 'f32') return `u2f(${a})`;
    if (from === 'f32') return to === 'u32' ? `f2u(${a})` : `(f2u(${a}) | 0)`;
    return to === 'u32' ? `((${a}) >>> 0)` : `((${a}) | 0)`;
  }
  protected mathCall(fn: Extract<Expr, { k: 'math' }>['fn'], a: string): string {
    return fn === 'exp2' ? `Math.fround(2 ** (${a}))` : `Math.fround(${JS_MATH[fn]}(${a}))`;
  }
  protected intrinsic(fn: Extract<Expr, { k: 'intrin' }>['fn'], a: string): string {
    if (fn === 'bf16_to_f32') return `u2f((${a}) << 16)`;
    if (fn === 'f16_to_f32') return `f16(${a})`;
    return `E4M3[${a}]`;
  }
  protected load(buf: string, idx: string): string {
    return `${buf}[${idx}]`;
  }
  protected listLoad(list: string, which: string, idx: string): string {
    return `${list}[${which}][${idx}]`;
  }
  protected pid(): string {
    return 'pid';
  }
  protected declare(name: string, _t: Scalar, init: string, mutable: boolean): string {
    return `${mutable ? 'let' : 'const'} ${name} = ${init};`;
  }
  protected forHeader(v: string, from: string, to: string): string {
    return `for (let ${v} = ${from}; ${v} < ${to}; ${v}++)`;
  }
  protected accumulate(op: 'sum' | 'max', t: Scalar, acc: string, value: string): string {
    if (op === 'max') return `${acc} = Math.max(${acc}, ${value});`;
    return t === 'f32' ? `${acc} += ${value};` : `${acc} = (${acc} + ${value}) | 0;`;
  }
  /** The product of a float sum's term stays exact (a float32 product fits a float64 exactly). */
  protected override reductionTerm(op: 'sum' | 'max', e: Expr): string {
    if (op === 'sum' && e.k === 'bin' && e.op === 'mul' && e.t === 'f32') return `(${this.expr(e.a)} * ${this.expr(e.b)})`;
    return this.expr(e);
  }
  protected override finishReduction(op: 'sum' | 'max', t: Scalar, acc: string): string | null {
    return op === 'sum' && t === 'f32' ? `${acc} = Math.fround(${acc});` : null;
  }
  protected identity(op: 'sum' | 'max', t: Scalar): string {
    if (op === 'sum') return '0';
    return t === 'f32' ? '-Infinity' : t === 'u32' ? '0' : '-2147483648';
  }
}
