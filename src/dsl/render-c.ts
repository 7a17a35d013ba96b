// C for the native CPU backend: one exported job function per kernel, which the threads of the
// device's launch queue (cpu-device.ts) call to share its programs; inner loops written so
// gcc/clang vectorize them (-O3 -march=native).
import type { BinOp, Expr, Kernel, Param, Scalar, Stmt } from './ir.js';
import { INFIX, cFamilyConstant } from './render-base.js';
import { CpuRenderer } from './render-cpu.js';
import { DEFAULT_C_TARGET } from './c-target.js';
import type { CTarget } from './c-target.js';
import { cPrefetch, cVectorPrelude, vectorizeReduce } from './vectorize-c.js';

const C_TYPES: Record<Scalar, string> = { f32: 'float', i32: 'int32_t', u32: 'uint32_t', bool: 'int' };
const C_ELEM: Record<string, string> = { f32: 'float', i32: 'int32_t', u32: 'uint32_t', u16: 'uint16_t', u8: 'uint8_t' };
const C_MATH: Record<string, string> = { exp: 'expf', log: 'logf', sqrt: 'sqrtf', sin: 'sinf', cos: 'cosf', abs: 'fabsf', floor: 'floorf', ceil: 'ceilf', log2: 'log2f', exp2: 'exp2f' };

/** Helpers every kernel source starts with, for the target's vector width. */
export function cPrelude(target: CTarget = DEFAULT_C_TARGET): string {
  return `#include <stdint.h>
#include <string.h>
#include <math.h>
#if defined(TESSERA_LIBMVEC) && defined(__GNUC__) && !defined(__clang__)
/* glibc's vector expf (libmvec, linked with -lmvec): loops under omp simd call it per vector */
#pragma omp declare simd notinbranch
float expf(float);
#endif
static inline float tessera_u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static inline uint32_t tessera_f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float tessera_bf16(uint32_t h) { return tessera_u2f(h << 16); }
static inline float tessera_f16(uint32_t h) { _Float16 x; uint16_t v = (uint16_t)h; memcpy(&x, &v, 2); return (float)x; }
/* e4m3fn -> f32 by moving exponent and mantissa into place and rebiasing (exact, subnormals included). */
static inline float tessera_e4m3(uint32_t c) { return tessera_u2f(((c & 0x7Fu) << 20) | ((c & 0x80u) << 24)) * 0x1p120f; }
/* Vector length of f32 reductions the compiler vectorizes: the target's, one register per accumulator. */
#define TESSERA_SIMDLEN ${target.lanes}
static inline int32_t tessera_dot4i8(uint32_t a, uint32_t b) {
  int32_t s = 0;
  for (int i = 0; i < 32; i += 8) s += (int32_t)(int8_t)(a >> i) * (int32_t)(int8_t)(b >> i);
  return s;
}
/* a job's float argument: the low 32 bits of its 64-bit slot */
static inline float tessera_slot_f32(uint64_t v) { return tessera_u2f((uint32_t)v); }
#define TESSERA_IMAX(a, b) ((a) > (b) ? (a) : (b))
#define TESSERA_IMIN(a, b) ((a) < (b) ? (a) : (b))
${cVectorPrelude(target.lanes)}`;
}

export class CRenderer extends CpuRenderer {
  readonly target = 'c';

  constructor(private readonly cpu: CTarget = DEFAULT_C_TARGET) {
    super();
  }

  /** The parameter as the job function unpacks it from its 64-bit argument slot `i`. */
  private paramSlot(p: Param, i: number): string {
    if (p.kind === 'scalar') return p.t === 'f32' ? `const float ${p.name} = tessera_slot_f32(tq_args[${i}]);` : `const ${C_TYPES[p.t]} ${p.name} = (${C_TYPES[p.t]})(uint32_t)tq_args[${i}];`;
    if (p.kind === 'list') return `const ${C_ELEM[p.elem]}* const* restrict ${p.name} = (const ${C_ELEM[p.elem]}* const*)(uintptr_t)tq_args[${i}];`;
    const t = `${p.write ? '' : 'const '}${C_ELEM[p.elem]}*`;
    return `${t} restrict ${p.name} = (${t})(uintptr_t)tq_args[${i}];`;
  }

  /**
   * `int32_t NAME_job(args, next, done, nth)`: runs programs claimed from the shared counter
   * `next` (zero at the start) and adds each finished run of them to `done`; returns how many
   * programs the launch has, so the caller can wait for `done` to reach it. Runs are about an
   * eighth of a thread's share for equal programs (sequential weight streams, and a thread that
   * arrives late takes less instead of holding the others up), one program for uneven ones
   * ('dynamic'); a small launch goes whole to the first thread that arrives (a thread only pays off
   * above some work). `NAME_job_address()` gives the device the function's address.
   */
  protected renderKernel(k: Kernel): string {
    const locals = k.locals.map((l) => this.line(3, `${C_TYPES[l.elem]} ${l.name}[${l.size}];`));
    const threaded = k.work ? `${this.expr(k.work)} >= 65536.0f` : 'programs > 1';
    const chunk = k.schedule === 'dynamic' ? '1' : 'TESSERA_IMAX(1, programs / (tq_nth * 8))';
    return [
      `int32_t ${k.name}_job(const uint64_t* restrict tq_args, int32_t* tq_next, int32_t* tq_done, int32_t tq_nth) {`,
      ...k.params.map((p, i) => this.line(1, this.paramSlot(p, i))),
      this.line(1, `const int32_t programs = ${this.expr(k.programs)};`),
      this.line(1, `const int32_t tq_chunk = ${threaded} ? ${chunk} : TESSERA_IMAX(programs, 1);`),
      this.line(1, 'for (;;) {'),
      this.line(2, 'const int32_t tq_lo = __atomic_fetch_add(tq_next, tq_chunk, __ATOMIC_RELAXED);'),
      this.line(2, 'if (tq_lo >= programs) break;'),
      this.line(2, 'const int32_t tq_hi = TESSERA_IMIN(programs, tq_lo + tq_chunk);'),
      this.line(2, 'for (int32_t pid = tq_lo; pid < tq_hi; pid++) {'),
      ...locals,
      ...this.block(k.body, 3),
      this.line(2, '}'),
      this.line(2, '__atomic_add_fetch(tq_done, tq_hi - tq_lo, __ATOMIC_RELEASE);'),
      this.line(1, '}'),
      this.line(1, 'return programs;'),
      '}',
      `uintptr_t ${k.name}_job_address(void) { return (uintptr_t)&${k.name}_job; }`,
      '',
    ].join('\n');
  }

  protected scalarType(t: Scalar): string {
    return C_TYPES[t];
  }

  /** Reductions are written with explicit vectors of the target's width when their loads allow it. */
  protected override stmt(s: Stmt, depth: number): string[] {
    if (s.k !== 'reduce') return super.stmt(s, depth);
    const vector = vectorizeReduce(
      s,
      { expr: (e) => this.expr(e), elemOf: (b) => this.elemOf(b) },
      (d, t) => this.line(d, t),
      depth,
      this.cpu.lanes,
    );
    if (!vector) return super.stmt(s, depth);
    const types = s.values.map((v) => v.t);
    return [
      ...vector,
      this.line(depth, `for (; ${s.v} < ${s.v}_n; ${s.v}++) {`),
      ...this.block(s.body.filter((b) => b.k !== 'prefetch'), depth + 1),
      ...s.accs.map((a, j) => this.line(depth + 1, this.accumulate(s.op, types[j]!, a, this.expr(s.values[j]!)))),
      this.line(depth, '}'),
    ];
  }

  protected override prefetch(s: Extract<Stmt, { k: 'prefetch' }>): string[] {
    return [cPrefetch(s.which ? `${s.buf}[${this.expr(s.which)}]` : s.buf, this.expr(s.idx))];
  }

  private elemOf(buf: string): string {
    const p = this.paramByName.get(buf);
    if (p && p.kind !== 'scalar') return p.elem;
    return this.kernel.locals.find((l) => l.name === buf)?.elem ?? 'f32';
  }
  protected constant(t: Scalar, v: number): string {
    return cFamilyConstant(t, v, { inf: 'INFINITY', negInf: '(-INFINITY)', bool: ['1', '0'] });
  }
  protected binary(op: BinOp, _t: Scalar, ot: Scalar, a: string, b: string): string {
    if (op === 'max') return ot === 'f32' ? `fmaxf(${a}, ${b})` : `TESSERA_IMAX(${a}, ${b})`;
    if (op === 'min') return ot === 'f32' ? `fminf(${a}, ${b})` : `TESSERA_IMIN(${a}, ${b})`;
    if (op === 'mod' && ot === 'f32') return `fmodf(${a}, ${b})`;
    return `(${a} ${INFIX[op]} ${b})`;
  }
  protected cast(to: Scalar, _from: Scalar, a: string): string {
    return `((${C_TYPES[to]})(${a}))`;
  }
  protected bitcast(to: Scalar, from: Scalar, a: string): string {
    if (to === 'f32') return `tessera_u2f((uint32_t)(${a}))`;
    if (from === 'f32') return `((${C_TYPES[to]})tessera_f2u(${a}))`;
    return `((${C_TYPES[to]})(${a}))`;
  }
  protected mathCall(fn: Extract<Expr, { k: 'math' }>['fn'], a: string): string {
    return `${C_MATH[fn]}(${a})`;
  }
  protected intrinsic(fn: Extract<Expr, { k: 'intrin' }>['fn'], a: string): string {
    if (fn === 'bf16_to_f32') return `tessera_bf16(${a})`;
    if (fn === 'f16_to_f32') return `tessera_f16(${a})`;
    return `tessera_e4m3(${a})`;
  }
  protected load(buf: string, idx: string, t: Scalar): string {
    const p = this.paramByName.get(buf);
    const narrow = p && p.kind !== 'scalar' && (p.elem === 'u16' || p.elem === 'u8');
    return narrow && t === 'u32' ? `((uint32_t)${buf}[${idx}])` : `${buf}[${idx}]`;
  }
  protected listLoad(list: string, which: string, idx: string): string {
    const p = this.paramByName.get(list);
    const narrow = p && p.kind === 'list' && (p.elem === 'u16' || p.elem === 'u8');
    return narrow ? `((uint32_t)${list}[${which}][${idx}])` : `${list}[${which}][${idx}]`;
  }
  protected pid(): string {
    return 'pid';
  }
  protected declare(name: string, t: Scalar, init: string, mutable: boolean): string {
    return `${mutable ? '' : 'const '}${C_TYPES[t]} ${name} = ${init};`;
  }
  protected forHeader(v: string, from: string, to: string): string {
    return `for (int32_t ${v} = ${from}; ${v} < ${to}; ${v}++)`;
  }
  protected override simdPragma(reduction: { op: 'sum' | 'max'; accs: readonly string[] } | null): string {
    if (!reduction) return '#pragma omp simd';
    return `#pragma omp simd simdlen(TESSERA_SIMDLEN) reduction(${reduction.op === 'sum' ? '+' : 'max'}:${reduction.accs.join(',')})`;
  }
  protected accumulate(op: 'sum' | 'max', t: Scalar, acc: string, value: string): string {
    if (op === 'sum') return `${acc} += ${value};`;
    return t === 'f32' ? `${acc} = fmaxf(${acc}, ${value});` : `${acc} = TESSERA_IMAX(${acc}, ${value});`;
  }
  protected identity(op: 'sum' | 'max', t: Scalar): string {
    if (op === 'sum') return t === 'f32' ? '0.0f' : '0';
    return t === 'f32' ? '(-INFINITY)' : t === 'u32' ? '0u' : '(-2147483647 - 1)';
  }
}
