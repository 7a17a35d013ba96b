// The tile kernel IR. A kernel is a grid of independent *programs* (GPU workgroups, CPU loop
// iterations). Code at program level is uniform; `parallel` loops spread elementwise work over the
// program's lanes (GPU threads, CPU SIMD); `reduce` is a collective over an index range whose
// results are uniform again. Renderers lower this to C, WGSL, JS, CUDA and HIP.

/** Types of values. */
export type Scalar = 'f32' | 'i32' | 'u32' | 'bool';
/** Types of buffer elements; u8/u16 load as u32. */
export type Elem = 'f32' | 'i32' | 'u32' | 'u16' | 'u8';

export type BinOp =
  | 'add' | 'sub' | 'mul' | 'div' | 'mod'
  | 'lt' | 'le' | 'gt' | 'ge' | 'eq' | 'ne'
  | 'and' | 'or'
  | 'band' | 'bor' | 'bxor' | 'shl' | 'shr'
  | 'max' | 'min';
export type UnOp = 'neg' | 'not' | 'bnot';
/** f32 math functions every target spells natively. */
export type MathFn = 'exp' | 'log' | 'sqrt' | 'sin' | 'cos' | 'abs' | 'floor' | 'ceil' | 'log2' | 'exp2';
/** Conversions with a per-target spelling (tables, bit tricks or hardware instructions). */
export type Intrinsic = 'bf16_to_f32' | 'f16_to_f32' | 'e4m3_to_f32';

export type Expr =
  | { readonly k: 'const'; readonly t: Scalar; readonly v: number }
  | { readonly k: 'var'; readonly t: Scalar; readonly name: string }
  | { readonly k: 'pid'; readonly t: 'i32' }
  | { readonly k: 'bin'; readonly t: Scalar; readonly op: BinOp; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'un'; readonly t: Scalar; readonly op: UnOp; readonly a: Expr }
  | { readonly k: 'math'; readonly t: 'f32'; readonly fn: MathFn; readonly a: Expr }
  | { readonly k: 'cast'; readonly t: Scalar; readonly a: Expr }
  | { readonly k: 'bitcast'; readonly t: Scalar; readonly a: Expr }
  | { readonly k: 'select'; readonly t: Scalar; readonly c: Expr; readonly a: Expr; readonly b: Expr }
  | { readonly k: 'load'; readonly t: Scalar; readonly buf: string; readonly idx: Expr }
  /** element `idx` of matrix `which` of a list of equally shaped buffers (e.g. the experts of a layer) */
  | { readonly k: 'listload'; readonly t: Scalar; readonly list: string; readonly which: Expr; readonly idx: Expr }
  | { readonly k: 'intrin'; readonly t: Scalar; readonly fn: Intrinsic; readonly a: Expr }
  /**
   * Escape hatch to a target intrinsic: per-target spellings with $0, $1, ... standing for the
   * rendered arguments (e.g. WGSL dot4I8Packed). A target without a spelling cannot run the kernel.
   */
  | { readonly k: 'custom'; readonly t: Scalar; readonly spellings: Readonly<Partial<Record<Target, string>>>; readonly args: readonly Expr[] };

/** The languages kernels render to. */
export type Target = 'c' | 'js' | 'wgsl' | 'cuda' | 'hip';

export type Stmt =
  | { readonly k: 'let'; readonly name: string; readonly t: Scalar; readonly init: Expr; readonly mutable: boolean }
  | { readonly k: 'assign'; readonly name: string; readonly value: Expr }
  | { readonly k: 'store'; readonly buf: string; readonly idx: Expr; readonly value: Expr }
  | { readonly k: 'for'; readonly v: string; readonly from: Expr; readonly to: Expr; readonly body: readonly Stmt[] }
  | { readonly k: 'if'; readonly c: Expr; readonly then: readonly Stmt[]; readonly else: readonly Stmt[] }
  /**
   * A hint that buf[idx] (a list: buf[which][idx]) is read soon. Native CPU code issues a cache
   * prefetch; other targets drop it. The address is never dereferenced, so it may lie past the end.
   */
  | { readonly k: 'prefetch'; readonly buf: string; readonly which: Expr | null; readonly idx: Expr }
  /**
   * A target routine called for its effects (it writes through the kernel's buffer parameters):
   * the statement form of 'custom', spellings per target with $0, $1, ... for the arguments.
   */
  | { readonly k: 'call'; readonly spellings: Readonly<Partial<Record<Target, string>>>; readonly args: readonly Expr[] }
  /** Elementwise loop over [0, n), spread over lanes; no nested parallel/reduce. */
  | { readonly k: 'parallel'; readonly v: string; readonly n: Expr; readonly body: readonly Stmt[] }
  /**
   * accs[j] = OP over i in [0, n) of values[j] (evaluated after `body`'s lets); results uniform.
   * `init` is the identity (0 for sum, -inf for max).
   */
  | {
      readonly k: 'reduce';
      readonly op: 'sum' | 'max';
      readonly accs: readonly string[];
      readonly v: string;
      readonly n: Expr;
      readonly body: readonly Stmt[];
      readonly values: readonly Expr[];
    };

export type Param =
  | { readonly kind: 'buf'; readonly name: string; readonly elem: Elem; readonly write: boolean }
  | { readonly kind: 'list'; readonly name: string; readonly elem: Elem }
  | { readonly kind: 'scalar'; readonly name: string; readonly t: 'i32' | 'u32' | 'f32' };

/** A program-local array (GPU workgroup memory, a C stack array). */
export interface LocalArray {
  readonly name: string;
  readonly elem: 'f32' | 'i32' | 'u32';
  readonly size: number;
}

export interface Kernel {
  readonly name: string;
  readonly params: readonly Param[];
  readonly locals: readonly LocalArray[];
  /** number of programs, from scalar params */
  readonly programs: Expr;
  /** lanes per program on GPUs (workgroup size) */
  readonly threads: number;
  /**
   * How CPU threads take programs: 'static' when programs cost the same (contiguous runs of
   * programs per thread), 'dynamic' when they differ (attention, experts: one at a time).
   */
  readonly schedule: 'static' | 'dynamic';
  /** estimated total work (element operations): CPU threads are only used above a threshold */
  readonly work: Expr | null;
  readonly body: readonly Stmt[];
  /**
   * Source placed before the kernel per target: the definitions its custom spellings call (e.g.
   * hand-written SIMD micro-kernels for one ISA family, each with a portable fallback).
   */
  readonly helpers: Readonly<Partial<Record<Target, string>>>;
}

export function elemValueType(e: Elem): Scalar {
  return e === 'f32' ? 'f32' : e === 'i32' ? 'i32' : 'u32';
}
