// Explicit SIMD for reductions in the C renderer. gcc's auto-vectorizer picks vector widths from
// the narrowest type in a loop (16 lanes for bf16 weights), which doubles the registers each
// accumulator needs and spills register-tiled products. Here a `reduce` whose loads are
// contiguous (stride 1) or invariant in the loop index is written with GCC vector extensions:
// f32 accumulators of the target's width (c-target.ts), bf16/f16/e4m3 widened in registers, a fixed horizontal sum, then a
// scalar tail. Anything else falls back to the scalar loop.
import type { Expr, Scalar, Stmt } from './ir.js';
import { exprChildren, someExpr } from './ir-walk.js';

/** Vector typedefs and helpers for `lanes`-wide f32/i32/u32 vectors (4, 8 or 16 lanes). */
export function cVectorPrelude(lanes: 4 | 8 | 16): string {
  const bytes = 4 * lanes;
  const idx = Array.from({ length: lanes }, (_, i) => i);
  const tree = (v: string): string => {
    const go = (lo: number, n: number): string => (n === 1 ? `${v}[${lo}]` : `(${go(lo, n / 2)} + ${go(lo + n / 2, n / 2)})`);
    return go(0, lanes);
  };
  // one vpmovzx each (gcc splits __builtin_convertvector of narrow lanes into halves)
  const widen: Record<number, string> = {
    16: `#if defined(__AVX512F__)
#include <immintrin.h>
static inline tv_u32 tv_load_u16(const uint16_t* p) { return (tv_u32)_mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i*)p)); }
static inline tv_u32 tv_load_u8(const uint8_t* p) { return (tv_u32)_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i*)p)); }
#else`,
    8: `#if defined(__AVX2__)
#include <immintrin.h>
static inline tv_u32 tv_load_u16(const uint16_t* p) { return (tv_u32)_mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i*)p)); }
static inline tv_u32 tv_load_u8(const uint8_t* p) { return (tv_u32)_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i*)p)); }
#else`,
    4: '#if 0\n#else',
  };
  return `typedef float tv_f32 __attribute__((vector_size(${bytes})));
typedef int32_t tv_i32 __attribute__((vector_size(${bytes})));
typedef uint32_t tv_u32 __attribute__((vector_size(${bytes})));
typedef float tv_f32u __attribute__((vector_size(${bytes}), aligned(4)));
typedef int32_t tv_i32u __attribute__((vector_size(${bytes}), aligned(4)));
typedef uint32_t tv_u32u __attribute__((vector_size(${bytes}), aligned(4)));
typedef uint16_t tv_u16xn __attribute__((vector_size(${bytes / 2}), aligned(2)));
typedef uint8_t tv_u8xn __attribute__((vector_size(${bytes / 4}), aligned(1)));
typedef _Float16 tv_f16xn __attribute__((vector_size(${bytes / 2}), aligned(2)));
static const tv_i32 tv_iota = {${idx.join(', ')}};
static inline tv_f32 tv_load_f32(const float* p) { return *(const tv_f32u*)p; }
static inline tv_i32 tv_load_i32(const int32_t* p) { return *(const tv_i32u*)p; }
static inline tv_u32 tv_load_u32(const uint32_t* p) { return *(const tv_u32u*)p; }
${widen[lanes]}
static inline tv_u32 tv_load_u16(const uint16_t* p) { return __builtin_convertvector(*(const tv_u16xn*)p, tv_u32); }
static inline tv_u32 tv_load_u8(const uint8_t* p) { return __builtin_convertvector(*(const tv_u8xn*)p, tv_u32); }
#endif
static inline tv_f32 tv_bf16(tv_u32 h) { return (tv_f32)(h << 16); }
static inline tv_f32 tv_e4m3(tv_u32 c) { return (tv_f32)(((c & 0x7Fu) << 20) | ((c & 0x80u) << 24)) * 0x1p120f; }
static inline tv_f32 tv_f16(tv_u32 h) { return __builtin_convertvector((tv_f16xn)__builtin_convertvector(h, tv_u16xn), tv_f32); }
static inline tv_i32 tv_blend_i32(tv_i32 m, tv_i32 a, tv_i32 b) { return (a & m) | (b & ~m); }
static inline tv_f32 tv_blend_f32(tv_i32 m, tv_f32 a, tv_f32 b) { return (tv_f32)tv_blend_i32(m, (tv_i32)a, (tv_i32)b); }
static inline tv_f32 tv_max_f32(tv_f32 a, tv_f32 b) { return tv_blend_f32(a > b, a, b); }
static inline tv_f32 tv_min_f32(tv_f32 a, tv_f32 b) { return tv_blend_f32(a < b, a, b); }
static inline float tv_hsum_f32(tv_f32 v) { return ${tree('v')}; }
static inline float tv_hmax_f32(tv_f32 v) { float m = v[0]; for (int i = 1; i < ${lanes}; i++) m = v[i] > m ? v[i] : m; return m; }
static inline int32_t tv_hsum_i32(tv_i32 v) { return ${tree('v')}; }
`;
}

/** C for a prefetch hint at `&at[idx]`: read, no temporal locality (weights stream through once per step). */
export function cPrefetch(at: string, idx: string): string {
  return `__builtin_prefetch(&${at}[${idx}], 0, 0);`;
}

const VEC: Record<Scalar, string> = { f32: 'tv_f32', i32: 'tv_i32', u32: 'tv_u32', bool: 'tv_i32' };

/** How an expression depends on the loop index: 0 invariant, 1 = index + invariant, null otherwise. */
function stride(e: Expr, v: string, vectorLets: ReadonlySet<string>): number | null {
  switch (e.k) {
    case 'var':
      if (e.name === v) return 1;
      return vectorLets.has(e.name) ? null : 0;
    case 'const':
    case 'pid':
      return 0;
    case 'bin': {
      const a = stride(e.a, v, vectorLets);
      const b = stride(e.b, v, vectorLets);
      if (a === null || b === null) return null;
      if (e.op === 'add') return a + b;
      if (e.op === 'sub') return a - b;
      if (e.op === 'mul' && a === 0 && b === 0) return 0;
      return a === 0 && b === 0 ? 0 : null;
    }
    default:
      return someExpr(e, (x) => (x.k === 'var' && (x.name === v || vectorLets.has(x.name))) || x.k === 'load' || x.k === 'listload') ? null : 0;
  }
}

const ELEM_BYTES: Record<string, number> = { f32: 4, i32: 4, u32: 4, u16: 2, u8: 1 };

/** c where e = c·v + (terms invariant in v), for integer constants c; null when e is not of that form. */
function coefficient(e: Expr, v: string): number | null {
  if (!someExpr(e, (x) => x.k === 'var' && x.name === v)) return 0;
  if (e.k === 'var') return 1;
  if (e.k !== 'bin') return null;
  const a = coefficient(e.a, v);
  const b = coefficient(e.b, v);
  if (a === null || b === null) return null;
  if (e.op === 'add') return a + b;
  if (e.op === 'sub') return a - b;
  if (e.op === 'mul' && e.b.k === 'const' && b === 0) return a * e.b.v;
  if (e.op === 'mul' && e.a.k === 'const' && a === 0) return b * e.a.v;
  return null;
}

export interface ScalarSpelling {
  /** the target's scalar rendering of an expression */
  expr(e: Expr): string;
  /** element type of a buffer or list parameter (locals are f32/i32/u32) */
  elemOf(buf: string): string;
  /** a load's scalar address expression `&buf[idx]` / `&list[which][idx]` */
}

/** Vector C for one reduce, or null when the body cannot be vectorized. */
export function vectorizeReduce(s: Extract<Stmt, { k: 'reduce' }>, sp: ScalarSpelling, indent: (d: number, t: string) => string, depth: number, lanes: number): string[] | null {
  const v = s.v;
  const vectorLets = new Set<string>();
  const dependsOnIndex = (e: Expr) => someExpr(e, (x) => x.k === 'var' && (x.name === v || vectorLets.has(x.name)));
  // every statement in the body must be a let or a prefetch hint
  for (const st of s.body) if (st.k !== 'let' && st.k !== 'prefetch') return null;
  if (s.values.some((x) => x.t !== 'f32' && x.t !== 'i32')) return null;
  if (s.op === 'max' && s.values.some((x) => x.t !== 'f32')) return null;

  const scalarAt = (e: Expr): string => sp.expr(e);
  const lines: string[] = [];
  const vx = (e: Expr): string | null => {
    if (!dependsOnIndex(e)) return sp.expr(e); // invariant: a scalar, broadcast by the operators
    switch (e.k) {
      case 'var':
        return e.name === v ? `(tv_iota + ${v})` : e.name;
      case 'load':
      case 'listload': {
        const st = stride(e.idx, v, vectorLets);
        if (st !== 1) return null;
        const elem = sp.elemOf(e.k === 'load' ? e.buf : e.list);
        const addr = e.k === 'load' ? `&${e.buf}[${scalarAt(e.idx)}]` : `&${e.list}[${scalarAt(e.which)}][${scalarAt(e.idx)}]`;
        if (e.k === 'listload' && dependsOnIndex(e.which)) return null;
        return `tv_load_${elem}(${addr})`;
      }
      case 'bin': {
        const a = vx(e.a);
        const b = vx(e.b);
        if (a === null || b === null) return null;
        const f32 = e.a.t === 'f32';
        switch (e.op) {
          case 'max':
          case 'min':
            return f32 ? `tv_${e.op}_f32(${dependsOnIndex(e.a) ? a : `(tv_f32){} + ${a}`}, ${dependsOnIndex(e.b) ? b : `(tv_f32){} + ${b}`})` : null;
          case 'mod':
            return f32 ? null : `(${a} % ${b})`;
          case 'and':
            return `(${a} & ${b})`;
          case 'or':
            return `(${a} | ${b})`;
          default: {
            const sym = { add: '+', sub: '-', mul: '*', div: '/', lt: '<', le: '<=', gt: '>', ge: '>=', eq: '==', ne: '!=', band: '&', bor: '|', bxor: '^', shl: '<<', shr: '>>' }[e.op];
            return sym ? `(${a} ${sym} ${b})` : null;
          }
        }
      }
      case 'un': {
        const a = vx(e.a);
        if (a === null) return null;
        return e.op === 'neg' ? `(-${a})` : e.op === 'not' ? `(~${a})` : `(~${a})`;
      }
      case 'math': {
        const a = vx(e.a);
        return e.fn === 'abs' && a !== null ? `((tv_f32)((tv_u32)${a} & 0x7FFFFFFFu))` : null;
      }
      case 'cast': {
        const a = vx(e.a);
        if (a === null) return null;
        if (e.a.t === 'bool') return `(${VEC[e.t]})(-(${a}))`;
        if (e.t === 'f32' || e.a.t === 'f32') return `__builtin_convertvector(${a}, ${VEC[e.t]})`;
        return `(${VEC[e.t]})(${a})`;
      }
      case 'bitcast': {
        const a = vx(e.a);
        return a === null ? null : `(${VEC[e.t]})(${a})`;
      }
      case 'select': {
        const c = vx(e.c);
        const a = vx(e.a);
        const b = vx(e.b);
        if (c === null || a === null || b === null) return null;
        const wrap = (x: string, ex: Expr) => (dependsOnIndex(ex) ? x : `((${VEC[e.t]}){} + ${x})`);
        return e.t === 'f32' ? `tv_blend_f32(${wrap(c, e.c)}, ${wrap(a, e.a)}, ${wrap(b, e.b)})` : `(${VEC[e.t]})tv_blend_i32(${wrap(c, e.c)}, (tv_i32)${wrap(a, e.a)}, (tv_i32)${wrap(b, e.b)})`;
      }
      case 'intrin': {
        const a = vx(e.a);
        if (a === null) return null;
        return e.fn === 'bf16_to_f32' ? `tv_bf16(${a})` : e.fn === 'f16_to_f32' ? `tv_f16(${a})` : `tv_e4m3(${a})`;
      }
      default:
        return null;
    }
  };

  const body: string[] = [];
  for (const st of s.body) {
    if (st.k === 'prefetch') {
      // once per cache line the hint's address sweeps in a vector step (scalar addresses only)
      const addr = [st.which, st.idx].filter((e): e is Expr => e !== null);
      if (addr.some((e) => someExpr(e, (x) => x.k === 'var' && vectorLets.has(x.name)))) return null;
      const at = st.which ? `${st.buf}[${sp.expr(st.which)}]` : st.buf;
      const elemBytes = ELEM_BYTES[sp.elemOf(st.buf)] ?? 4;
      const perLine = 64 / elemBytes;
      const lines = Math.max(1, Math.ceil((Math.abs(coefficient(st.idx, v) ?? 0) * lanes) / perLine));
      const idx = sp.expr(st.idx);
      for (let l = 0; l < lines; l++) body.push(indent(depth + 1, cPrefetch(at, l === 0 ? idx : `${idx} + ${l * perLine}`)));
      continue;
    }
    if (st.k !== 'let') return null;
    if (!dependsOnIndex(st.init)) {
      body.push(indent(depth + 1, `const ${st.t === 'f32' ? 'float' : st.t === 'u32' ? 'uint32_t' : 'int32_t'} ${st.name} = ${sp.expr(st.init)};`));
      continue;
    }
    const code = vx(st.init);
    if (code === null) return null;
    vectorLets.add(st.name);
    body.push(indent(depth + 1, `const ${VEC[st.t]} ${st.name} = ${code};`));
  }
  const values: string[] = [];
  for (const val of s.values) {
    const code = vx(val);
    if (code === null) return null;
    values.push(dependsOnIndex(val) ? code : `((${VEC[val.t]}){} + ${code})`);
  }
  const n = `${s.v}_n`;
  const identity = (t: Scalar) => (s.op === 'max' ? '(tv_f32){} - INFINITY' : `(${VEC[t]}){}`);
  lines.push(indent(depth, `const int32_t ${n} = ${sp.expr(s.n)};`));
  s.accs.forEach((a, j) => lines.push(indent(depth, `${VEC[s.values[j]!.t]} ${a}_v = ${identity(s.values[j]!.t)};`)));
  lines.push(indent(depth, `int32_t ${v} = 0;`));
  lines.push(indent(depth, `for (; ${v} + ${lanes} <= ${n}; ${v} += ${lanes}) {`));
  lines.push(...body);
  s.accs.forEach((a, j) => lines.push(indent(depth + 1, s.op === 'sum' ? `${a}_v += ${values[j]};` : `${a}_v = tv_max_f32(${a}_v, ${values[j]});`)));
  lines.push(indent(depth, '}'));
  s.accs.forEach((a, j) => {
    const t = s.values[j]!.t;
    const h = s.op === 'max' ? `tv_hmax_f32(${a}_v)` : t === 'f32' ? `tv_hsum_f32(${a}_v)` : `tv_hsum_i32(${a}_v)`;
    lines.push(indent(depth, `${t === 'f32' ? 'float' : 'int32_t'} ${a} = ${h};`));
  });
  return lines;
}

export { exprChildren };
