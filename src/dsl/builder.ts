// A TypeScript builder for tile kernels: write a kernel as straight-line code over `Val`s; the
// builder records statements into the IR of ./ir.ts.
import type { BinOp, Elem, Expr, Intrinsic, Kernel, LocalArray, MathFn, Param, Scalar, Stmt, Target } from './ir.js';
import { elemValueType } from './ir.js';

export type Operand = Val | number;

/** A typed expression with arithmetic helpers; numbers are lifted to the other operand's type. */
export class Val {
  constructor(readonly e: Expr) {}
  get t(): Scalar {
    return this.e.t;
  }
  private bin(op: BinOp, o: Operand, t?: Scalar): Val {
    const b = lift(o, this.t);
    if (b.t !== this.t) throw new Error(`type mismatch in ${op}: ${this.t} vs ${b.t}`);
    return new Val({ k: 'bin', t: t ?? this.t, op, a: this.e, b: b.e });
  }
  add(o: Operand): Val { return this.bin('add', o); }
  sub(o: Operand): Val { return this.bin('sub', o); }
  mul(o: Operand): Val { return this.bin('mul', o); }
  div(o: Operand): Val { return this.bin('div', o); }
  mod(o: Operand): Val { return this.bin('mod', o); }
  max(o: Operand): Val { return this.bin('max', o); }
  min(o: Operand): Val { return this.bin('min', o); }
  lt(o: Operand): Val { return this.bin('lt', o, 'bool'); }
  le(o: Operand): Val { return this.bin('le', o, 'bool'); }
  gt(o: Operand): Val { return this.bin('gt', o, 'bool'); }
  ge(o: Operand): Val { return this.bin('ge', o, 'bool'); }
  eq(o: Operand): Val { return this.bin('eq', o, 'bool'); }
  ne(o: Operand): Val { return this.bin('ne', o, 'bool'); }
  and(o: Val): Val { return this.bin('and', o); }
  or(o: Val): Val { return this.bin('or', o); }
  band(o: Operand): Val { return this.bin('band', o); }
  bor(o: Operand): Val { return this.bin('bor', o); }
  bxor(o: Operand): Val { return this.bin('bxor', o); }
  shl(o: Operand): Val { return this.bin('shl', o); }
  shr(o: Operand): Val { return this.bin('shr', o); }
  neg(): Val { return new Val({ k: 'un', t: this.t, op: 'neg', a: this.e }); }
  not(): Val { return new Val({ k: 'un', t: 'bool', op: 'not', a: this.e }); }
  f32(): Val { return this.t === 'f32' ? this : new Val({ k: 'cast', t: 'f32', a: this.e }); }
  i32(): Val { return this.t === 'i32' ? this : new Val({ k: 'cast', t: 'i32', a: this.e }); }
  u32(): Val { return this.t === 'u32' ? this : new Val({ k: 'cast', t: 'u32', a: this.e }); }
  /** reinterpret the bits (f32 <-> u32/i32) */
  bits(t: Scalar): Val { return new Val({ k: 'bitcast', t, a: this.e }); }
}

export function lift(o: Operand, t: Scalar): Val {
  return typeof o === 'number' ? new Val({ k: 'const', t, v: o }) : o;
}

export const f32 = (v: number) => new Val({ k: 'const', t: 'f32', v });
export const i32 = (v: number) => new Val({ k: 'const', t: 'i32', v });
export const u32 = (v: number) => new Val({ k: 'const', t: 'u32', v });

export function math(fn: MathFn, a: Operand): Val {
  return new Val({ k: 'math', t: 'f32', fn, a: lift(a, 'f32').e });
}
export function select(c: Val, a: Operand, b: Operand): Val {
  const va = typeof a === 'number' ? lift(a, typeof b === 'number' ? 'f32' : b.t) : a;
  const vb = lift(b, va.t);
  return new Val({ k: 'select', t: va.t, c: c.e, a: va.e, b: vb.e });
}
export function intrin(fn: Intrinsic, a: Val): Val {
  return new Val({ k: 'intrin', t: 'f32', fn, a: a.e });
}

/** A target intrinsic through the escape hatch: spellings per target, $0.. the arguments. */
export function custom(t: Scalar, spellings: Partial<Record<Target, string>>, ...args: Val[]): Val {
  return new Val({ k: 'custom', t, spellings, args: args.map((a) => a.e) });
}

/** A global buffer parameter or a program-local array. */
export class BufRef {
  constructor(
    private readonly kb: KernelBuilder,
    readonly name: string,
    readonly elem: Elem,
  ) {}
  at(i: Operand): Val {
    return new Val({ k: 'load', t: elemValueType(this.elem), buf: this.name, idx: lift(i, 'i32').e });
  }
  set(i: Operand, v: Operand): void {
    this.kb.emit({ k: 'store', buf: this.name, idx: lift(i, 'i32').e, value: lift(v, elemValueType(this.elem)).e });
  }
}

/** A list of equally shaped buffers (the experts of a layer), indexed by a runtime value. */
export class ListRef {
  constructor(
    readonly name: string,
    readonly elem: Elem,
  ) {}
  at(which: Operand, i: Operand): Val {
    return new Val({ k: 'listload', t: elemValueType(this.elem), list: this.name, which: lift(which, 'i32').e, idx: lift(i, 'i32').e });
  }
}

/** A mutable program variable. */
export class VarRef extends Val {
  constructor(
    private readonly kb: KernelBuilder,
    readonly name: string,
    t: Scalar,
  ) {
    super({ k: 'var', t, name });
  }
  set(v: Operand): void {
    this.kb.emit({ k: 'assign', name: this.name, value: lift(v, this.t).e });
  }
}

export class KernelBuilder {
  private readonly params: Param[] = [];
  private readonly locals: LocalArray[] = [];
  private readonly stack: Stmt[][] = [[]];
  private programCount: Val | null = null;
  private workEstimate: Val | null = null;
  private readonly helperSource: Partial<Record<Target, string>> = {};
  private counter = 0;
  readonly pid = new Val({ k: 'pid', t: 'i32' });

  readonly name: string;

  constructor(
    name: string,
    readonly threads = 64,
    readonly schedule: 'static' | 'dynamic' = 'static',
  ) {
    // kernel names become C/WGSL identifiers and cache file names
    this.name = name.replace(/[^A-Za-z0-9_]/g, '_');
  }

  emit(s: Stmt): void {
    this.stack[this.stack.length - 1]!.push(s);
  }

  private fresh(base: string): string {
    return `${base}_${this.counter++}`;
  }

  buf(name: string, elem: Elem, write = false): BufRef {
    this.params.push({ kind: 'buf', name, elem, write });
    return new BufRef(this, name, elem);
  }
  list(name: string, elem: Elem): ListRef {
    this.params.push({ kind: 'list', name, elem });
    return new ListRef(name, elem);
  }
  scalar(name: string, t: 'i32' | 'u32' | 'f32' = 'i32'): Val {
    this.params.push({ kind: 'scalar', name, t });
    return new Val({ k: 'var', t, name });
  }
  local(name: string, elem: 'f32' | 'i32' | 'u32', size: number): BufRef {
    this.locals.push({ name, elem, size });
    return new BufRef(this, name, elem);
  }
  programs(n: Operand): void {
    this.programCount = lift(n, 'i32');
  }
  /** Estimated total work (element operations), so CPUs skip threading for tiny launches. */
  work(...factors: Val[]): void {
    // a float product: element counts overflow 32-bit integers on large matrices
    this.workEstimate = factors.map((f) => f.f32()).reduce((a, b) => a.mul(b));
  }

  /** A target routine called for its effects (see the IR's 'call'). */
  call(spellings: Partial<Record<Target, string>>, ...args: Val[]): void {
    this.emit({ k: 'call', spellings, args: args.map((a) => a.e) });
  }

  /** Source the kernel's custom spellings for `target` call, placed before the kernel. */
  helpers(target: Target, source: string): void {
    this.helperSource[target] = (this.helperSource[target] ?? '') + source;
  }

  /** An immutable value computed once. */
  let(v: Operand, base = 'v'): Val {
    const val = lift(v, 'f32');
    const name = this.fresh(base);
    this.emit({ k: 'let', name, t: val.t, init: val.e, mutable: false });
    return new Val({ k: 'var', t: val.t, name });
  }
  /** Hint that ref[idx] (a list: ref[which][idx]) is read soon (see the IR's 'prefetch'). */
  prefetch(ref: BufRef | ListRef, idx: Operand, which?: Operand): void {
    this.emit({ k: 'prefetch', buf: ref.name, which: which === undefined ? null : lift(which, 'i32').e, idx: lift(idx, 'i32').e });
  }
  /** A mutable variable. */
  var(v: Operand, base = 'm'): VarRef {
    const val = lift(v, 'f32');
    const name = this.fresh(base);
    this.emit({ k: 'let', name, t: val.t, init: val.e, mutable: true });
    return new VarRef(this, name, val.t);
  }

  private block(fn: () => void): Stmt[] {
    this.stack.push([]);
    fn();
    return this.stack.pop()!;
  }

  for(from: Operand, to: Operand, fn: (i: Val) => void): void {
    const v = this.fresh('i');
    const body = this.block(() => fn(new Val({ k: 'var', t: 'i32', name: v })));
    this.emit({ k: 'for', v, from: lift(from, 'i32').e, to: lift(to, 'i32').e, body });
  }
  if(c: Val, then: () => void, otherwise?: () => void): void {
    this.emit({ k: 'if', c: c.e, then: this.block(then), else: otherwise ? this.block(otherwise) : [] });
  }
  parallel(n: Operand, fn: (i: Val) => void): void {
    const v = this.fresh('p');
    const body = this.block(() => fn(new Val({ k: 'var', t: 'i32', name: v })));
    this.emit({ k: 'parallel', v, n: lift(n, 'i32').e, body });
  }
  /** Sum (or max) over [0, n) of one or more values per index; returns the uniform results. */
  reduce(op: 'sum' | 'max', n: Operand, fn: (i: Val) => Val[]): Val[] {
    const v = this.fresh('r');
    let values: Val[] = [];
    const body = this.block(() => {
      values = fn(new Val({ k: 'var', t: 'i32', name: v }));
    });
    const accs = values.map(() => this.fresh('acc'));
    this.emit({ k: 'reduce', op, accs, v, n: lift(n, 'i32').e, body, values: values.map((x) => x.e) });
    return accs.map((name, j) => new Val({ k: 'var', t: values[j]!.t, name }));
  }

  build(): Kernel {
    if (this.stack.length !== 1) throw new Error(`kernel ${this.name}: unbalanced blocks`);
    if (!this.programCount) throw new Error(`kernel ${this.name}: programs() not set`);
    const body = this.stack[0]!;
    // The program count is evaluated before any program runs: inline the lets it refers to.
    const lets = new Map<string, Expr>();
    for (const st of body) if (st.k === 'let' && !st.mutable) lets.set(st.name, st.init);
    const programs = inlineLets(this.programCount.e, lets);
    const work = this.workEstimate ? inlineLets(this.workEstimate.e, lets) : null;
    return { name: this.name, params: this.params, locals: this.locals, programs, threads: this.threads, schedule: this.schedule, work, body, helpers: { ...this.helperSource } };
  }
}

function inlineLets(e: Expr, lets: ReadonlyMap<string, Expr>): Expr {
  switch (e.k) {
    case 'var': {
      const init = lets.get(e.name);
      return init ? inlineLets(init, lets) : e;
    }
    case 'pid':
      throw new Error('the program count cannot depend on the program id');
    case 'bin':
      return { ...e, a: inlineLets(e.a, lets), b: inlineLets(e.b, lets) };
    case 'un':
    case 'math':
    case 'cast':
    case 'bitcast':
    case 'intrin':
      return { ...e, a: inlineLets(e.a, lets) };
    case 'select':
      return { ...e, c: inlineLets(e.c, lets), a: inlineLets(e.a, lets), b: inlineLets(e.b, lets) };
    case 'custom':
      return { ...e, args: e.args.map((a) => inlineLets(a, lets)) };
    case 'load':
    case 'listload':
      throw new Error('the program count cannot depend on buffer contents');
    case 'const':
      return e;
  }
}
