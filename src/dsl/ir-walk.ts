// Traversals of the kernel IR used by analyses in renderers.
import type { Expr, Stmt } from './ir.js';

export function exprChildren(e: Expr): Expr[] {
  switch (e.k) {
    case 'bin':
      return [e.a, e.b];
    case 'un':
    case 'math':
    case 'cast':
    case 'bitcast':
    case 'intrin':
      return [e.a];
    case 'select':
      return [e.c, e.a, e.b];
    case 'load':
      return [e.idx];
    case 'listload':
      return [e.which, e.idx];
    case 'custom':
      return [...e.args];
    default:
      return [];
  }
}

export function someExpr(e: Expr, pred: (x: Expr) => boolean): boolean {
  return pred(e) || exprChildren(e).some((c) => someExpr(c, pred));
}

/** Calls `fn` on every expression (and sub-expression) of a statement list. */
export function forEachExpr(body: readonly Stmt[], fn: (e: Expr) => void): void {
  const visit = (e: Expr): void => {
    fn(e);
    exprChildren(e).forEach(visit);
  };
  for (const s of body) {
    switch (s.k) {
      case 'let':
        visit(s.init);
        break;
      case 'assign':
        visit(s.value);
        break;
      case 'store':
        visit(s.idx);
        visit(s.value);
        break;
      case 'for':
        visit(s.from);
        visit(s.to);
        forEachExpr(s.body, fn);
        break;
      case 'if':
        visit(s.c);
        forEachExpr(s.then, fn);
        forEachExpr(s.else, fn);
        break;
      case 'parallel':
        visit(s.n);
        forEachExpr(s.body, fn);
        break;
      case 'call':
        s.args.forEach(visit);
        break;
      case 'prefetch':
        if (s.which) visit(s.which);
        visit(s.idx);
        break;
      case 'reduce':
        visit(s.n);
        forEachExpr(s.body, fn);
        s.values.forEach(visit);
        break;
    }
  }
}
