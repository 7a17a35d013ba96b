// The number of programs of a launch, computed on the host from the kernel's `programs`
// expression and the scalar arguments (a GPU dispatch needs it before any shader runs).
import type { Expr } from '../../dsl/ir.js';

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
const i32 = new Int32Array(f32.buffer);

type Value = number | boolean;

function num(v: Value): number {
  return typeof v === 'boolean' ? (v ? 1 : 0) : v;
}

/** Wrap to the expression's type the way the shader would. */
function wrap(t: Expr['t'], v: number): Value {
  if (t === 'i32') return v | 0;
  if (t === 'u32') return v >>> 0;
  if (t === 'f32') return Math.fround(v);
  return v !== 0;
}

export function evalExpr(e: Expr, scalars: Readonly<Record<string, number>>): Value {
  switch (e.k) {
    case 'const':
      return wrap(e.t, e.v);
    case 'var': {
      const v = scalars[e.name];
      if (v === undefined) throw new Error(`program count: no value for ${e.name}`);
      return wrap(e.t, v);
    }
    case 'bin': {
      const a = num(evalExpr(e.a, scalars));
      const b = num(evalExpr(e.b, scalars));
      const int = e.a.t !== 'f32';
      switch (e.op) {
        case 'add': return wrap(e.t, a + b);
        case 'sub': return wrap(e.t, a - b);
        case 'mul': return wrap(e.t, int ? Math.imul(a, b) : a * b);
        case 'div':
          if (int && b === 0) throw new Error('program count: division by zero');
          return wrap(e.t, int ? Math.trunc(a / b) : a / b);
        case 'mod': return wrap(e.t, int ? a % b : a - b * Math.trunc(a / b));
        case 'lt': return a < b;
        case 'le': return a <= b;
        case 'gt': return a > b;
        case 'ge': return a >= b;
        case 'eq': return a === b;
        case 'ne': return a !== b;
        case 'and': return a !== 0 && b !== 0;
        case 'or': return a !== 0 || b !== 0;
        case 'band': return wrap(e.t, a & b);
        case 'bor': return wrap(e.t, a | b);
        case 'bxor': return wrap(e.t, a ^ b);
        case 'shl': return wrap(e.t, a << b);
        case 'shr': return wrap(e.t, e.t === 'u32' ? a >>> b : a >> b);
        case 'max': return wrap(e.t, Math.max(a, b));
        case 'min': return wrap(e.t, Math.min(a, b));
      }
      break;
    }
    case 'un': {
      const a = num(evalExpr(e.a, scalars));
      return e.op === 'neg' ? wrap(e.t, -a) : e.op === 'not' ? a === 0 : wrap(e.t, ~a);
    }
    case 'math': {
      const a = num(evalExpr(e.a, scalars));
      const fn = e.fn === 'exp2' ? (x: number) => 2 ** x : Math[e.fn];
      return Math.fround(fn(a));
    }
    case 'cast': {
      const a = num(evalExpr(e.a, scalars));
      return e.t === 'f32' ? Math.fround(a) : e.t === 'bool' ? a !== 0 : wrap(e.t, Math.trunc(a));
    }
    case 'bitcast': {
      const a = num(evalExpr(e.a, scalars));
      if (e.a.t === 'f32') f32[0] = a;
      else u32[0] = a >>> 0;
      return e.t === 'f32' ? f32[0]! : e.t === 'u32' ? u32[0]! : i32[0]!;
    }
    case 'select':
      return num(evalExpr(e.c, scalars)) !== 0 ? evalExpr(e.a, scalars) : evalExpr(e.b, scalars);
    case 'pid':
    case 'load':
    case 'listload':
    case 'intrin':
      break;
  }
  throw new Error(`program count: cannot evaluate a ${e.k} expression on the host`);
}

/** Programs of a launch (>= 0). */
export function programCount(e: Expr, scalars: Readonly<Record<string, number>>): number {
  return Math.max(0, num(evalExpr(e, scalars)));
}
