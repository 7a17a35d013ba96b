// CUDA C (and, through render-hip.ts, HIP C). Programs are thread blocks of `threads` threads:
// program-level code runs in every thread (CUDA has no uniformity rules, so values read from memory
// are simply read by every thread), program-level stores are made by thread 0 and published with
// __syncthreads(), `parallel` strides over the threads, `reduce` is a tree in shared memory.
import type { BinOp, Expr, Kernel, Param, Scalar, Stmt, Target } from './ir.js';
import { INFIX, Renderer, cFamilyConstant, reductionArrays } from './render-base.js';
import { forEachExpr } from './ir-walk.js';

const TYPES: Record<Scalar, string> = { f32: 'float', i32: 'int', u32: 'unsigned int', bool: 'bool' };
const ELEM: Record<string, string> = { f32: 'float', i32: 'int', u32: 'unsigned int', u16: 'unsigned short', u8: 'unsigned char' };
const MATH: Record<string, string> = { exp: 'expf', log: 'logf', sqrt: 'sqrtf', sin: 'sinf', cos: 'cosf', abs: 'fabsf', floor: 'floorf', ceil: 'ceilf', log2: 'log2f', exp2: 'exp2f' };

/** Device helpers shared by CUDA and HIP (same spellings in both). */
export const GPU_C_HELPERS = `#define TESSERA_DEVICE __device__ __forceinline__
TESSERA_DEVICE float tessera_bf16(unsigned int h) { return __uint_as_float(h << 16); }
TESSERA_DEVICE float tessera_f16(unsigned int h) { return __half2float(__ushort_as_half((unsigned short)h)); }
TESSERA_DEVICE float tessera_e4m3(unsigned int c) { return __uint_as_float(((c & 0x7Fu) << 20) | ((c & 0x80u) << 24)) * 0x1p120f; }
TESSERA_DEVICE int tessera_imax(int a, int b) { return a > b ? a : b; }
TESSERA_DEVICE int tessera_imin(int a, int b) { return a < b ? a : b; }
TESSERA_DEVICE unsigned int tessera_umax(unsigned int a, unsigned int b) { return a > b ? a : b; }
TESSERA_DEVICE unsigned int tessera_umin(unsigned int a, unsigned int b) { return a < b ? a : b; }
`;

export const CUDA_PRELUDE = `#include <cuda_fp16.h>
${GPU_C_HELPERS}`;

export class CudaRenderer extends Renderer {
  readonly target: Target = 'cuda';
  private reductions = new Map<Scalar, number>();
  private readLater = new Set<string>();

  protected prelude(): string {
    return CUDA_PRELUDE;
  }

  /** A whole translation unit: the prelude and the kernels. */
  renderModule(kernels: readonly Kernel[]): string {
    return this.prelude() + kernels.map((k) => this.render(k)).join('\n');
  }

  private paramDecl(p: Param): string {
    if (p.kind === 'scalar') return `${TYPES[p.t]} ${p.name}`;
    if (p.kind === 'list') return `const ${ELEM[p.elem]}* const* __restrict__ ${p.name}`;
    return `${p.write ? '' : 'const '}${ELEM[p.elem]}* __restrict__ ${p.name}`;
  }

  protected renderKernel(k: Kernel): string {
    this.reductions = new Map();
    this.readLater = new Set();
    forEachExpr(k.body, (e) => {
      if (e.k === 'load') this.readLater.add(e.buf);
    });
    const body = this.block(k.body, 1);
    const shared = [...k.locals.map((l) => `  __shared__ ${TYPES[l.elem]} ${l.name}[${l.size}];`)];
    for (const [t, n] of this.reductions) for (let j = 0; j < n; j++) shared.push(`  __shared__ ${TYPES[t]} red_${t}_${j}[${k.threads}];`);
    return [
      `extern "C" __global__ void __launch_bounds__(${k.threads}) ${k.name}(${k.params.map((p) => this.paramDecl(p)).join(', ')}) {`,
      ...shared,
      `  const int pid = (int)(blockIdx.x + blockIdx.y * gridDim.x);`,
      `  const int lid = (int)threadIdx.x;`,
      `  if (pid >= ${this.expr(k.programs)}) return;`,
      ...body,
      '}',
      '',
    ].join('\n');
  }

  protected scalarType(t: Scalar): string {
    return TYPES[t];
  }
  protected constant(t: Scalar, v: number): string {
    return cFamilyConstant(t, v, { inf: '__int_as_float(0x7f800000)', negInf: '__int_as_float((int)0xff800000)', bool: ['true', 'false'] });
  }
  protected binary(op: BinOp, _t: Scalar, ot: Scalar, a: string, b: string): string {
    if (op === 'max' || op === 'min') return ot === 'f32' ? `f${op}f(${a}, ${b})` : `tessera_${ot === 'u32' ? 'u' : 'i'}${op}(${a}, ${b})`;
    if (op === 'mod' && ot === 'f32') return `fmodf(${a}, ${b})`;
    return `(${a} ${INFIX[op]} ${b})`;
  }
  protected cast(to: Scalar, _from: Scalar, a: string): string {
    return `((${TYPES[to]})(${a}))`;
  }
  protected bitcast(to: Scalar, from: Scalar, a: string): string {
    if (to === 'f32') return `__uint_as_float((unsigned int)(${a}))`;
    if (from === 'f32') return `((${TYPES[to]})__float_as_uint(${a}))`;
    return `((${TYPES[to]})(${a}))`;
  }
  protected mathCall(fn: Extract<Expr, { k: 'math' }>['fn'], a: string): string {
    return `${MATH[fn]}(${a})`;
  }
  protected intrinsic(fn: Extract<Expr, { k: 'intrin' }>['fn'], a: string): string {
    return fn === 'bf16_to_f32' ? `tessera_bf16(${a})` : fn === 'f16_to_f32' ? `tessera_f16(${a})` : `tessera_e4m3(${a})`;
  }
  protected load(buf: string, idx: string, t: Scalar): string {
    const p = this.paramByName.get(buf);
    const narrow = p && p.kind !== 'scalar' && (p.elem === 'u16' || p.elem === 'u8');
    return narrow && t === 'u32' ? `((unsigned int)${buf}[${idx}])` : `${buf}[${idx}]`;
  }
  protected listLoad(list: string, which: string, idx: string): string {
    const p = this.paramByName.get(list);
    const narrow = p && p.kind === 'list' && (p.elem === 'u16' || p.elem === 'u8');
    return narrow ? `((unsigned int)${list}[${which}][${idx}])` : `${list}[${which}][${idx}]`;
  }
  protected pid(): string {
    return 'pid';
  }

  protected stmt(s: Stmt, depth: number): string[] {
    return this.gpuStmt(s, depth, false);
  }

  /**
   * One statement at program level (`lane` false: every thread runs it, thread 0 stores) or inside
   * a `parallel` loop (`lane` true: each thread its own iterations, no barriers).
   */
  private gpuStmt(s: Stmt, depth: number, lane: boolean): string[] {
    const L = (t: string) => this.line(depth, t);
    const block = (body: readonly Stmt[]) => body.flatMap((b) => this.gpuStmt(b, depth + 1, lane));
    switch (s.k) {
      case 'let':
        return [L(`${s.mutable ? '' : 'const '}${TYPES[s.t]} ${s.name} = ${this.expr(s.init)};`)];
      case 'assign':
        return [L(`${s.name} = ${this.expr(s.value)};`)];
      case 'store': {
        if (lane) return [L(`${s.buf}[${this.expr(s.idx)}] = ${this.expr(s.value)};`)];
        const out = [L(`if (lid == 0) ${s.buf}[${this.expr(s.idx)}] = ${this.expr(s.value)};`)];
        return this.readLater.has(s.buf) ? [...out, L('__syncthreads();')] : out;
      }
      case 'for':
        return [L(`for (int ${s.v} = ${this.expr(s.from)}; ${s.v} < ${this.expr(s.to)}; ${s.v}++) {`), ...block(s.body), L('}')];
      case 'if': {
        const out = [L(`if (${this.expr(s.c)}) {`), ...block(s.then)];
        if (s.else.length) out.push(L('} else {'), ...block(s.else));
        return [...out, L('}')];
      }
      case 'prefetch':
        return []; // a CPU cache hint
      case 'call':
        return [L(`${this.spell(s.spellings, s.args)};`)];
      case 'parallel':
        if (lane) throw new Error(`kernel ${this.kernel.name}: parallel inside parallel`);
        return [
          L(`for (int ${s.v} = lid; ${s.v} < ${this.expr(s.n)}; ${s.v} += ${this.kernel.threads}) {`),
          ...s.body.flatMap((b) => this.gpuStmt(b, depth + 1, true)),
          L('}'),
          L('__syncthreads();'),
        ];
      case 'reduce':
        return lane ? this.laneReduce(s, depth) : this.collectiveReduce(s, depth);
    }
  }

  private collectiveReduce(s: Extract<Stmt, { k: 'reduce' }>, depth: number): string[] {
    const L = (t: string) => this.line(depth, t);
    const types = s.values.map((v) => v.t);
    const arrays = reductionArrays(types, this.reductions);
    const T = this.kernel.threads;
    const combine = (t: Scalar, a: string, b: string) => (s.op === 'sum' ? `(${a} + ${b})` : t === 'f32' ? `fmaxf(${a}, ${b})` : `tessera_imax(${a}, ${b})`);
    return [
      ...s.accs.map((a, j) => L(`${TYPES[types[j]!]} ${a} = ${this.identity(s.op, types[j]!)};`)),
      L(`for (int ${s.v} = lid; ${s.v} < ${this.expr(s.n)}; ${s.v} += ${T}) {`),
      ...s.body.flatMap((b) => this.gpuStmt(b, depth + 1, true)),
      ...s.accs.map((a, j) => this.line(depth + 1, `${a} = ${combine(types[j]!, a, this.expr(s.values[j]!))};`)),
      L('}'),
      ...s.accs.map((a, j) => L(`${arrays[j]}[lid] = ${a};`)),
      L('__syncthreads();'),
      L(`for (int step = ${T / 2}; step > 0; step >>= 1) {`),
      L('  if (lid < step) {'),
      ...s.accs.map((_, j) => this.line(depth + 2, `${arrays[j]}[lid] = ${combine(types[j]!, `${arrays[j]}[lid]`, `${arrays[j]}[lid + step]`)};`)),
      L('  }'),
      L('  __syncthreads();'),
      L('}'),
      ...s.accs.map((a, j) => L(`${a} = ${arrays[j]}[0];`)),
      L('__syncthreads();'),
    ];
  }

  private identity(op: 'sum' | 'max', t: Scalar): string {
    if (op === 'sum') return t === 'f32' ? '0.0f' : t === 'u32' ? '0u' : '0';
    return t === 'f32' ? '__int_as_float((int)0xff800000)' : t === 'u32' ? '0u' : '(-2147483647 - 1)';
  }

  /** A reduce inside a `parallel` loop: sequential in each thread. */
  private laneReduce(s: Extract<Stmt, { k: 'reduce' }>, depth: number): string[] {
    const L = (t: string) => this.line(depth, t);
    const types = s.values.map((v) => v.t);
    return [
      ...s.accs.map((a, j) => L(`${TYPES[types[j]!]} ${a} = ${this.identity(s.op, types[j]!)};`)),
      L(`for (int ${s.v} = 0; ${s.v} < ${this.expr(s.n)}; ${s.v}++) {`),
      ...s.body.flatMap((b) => this.gpuStmt(b, depth + 1, true)),
      ...s.accs.map((a, j) => {
        const v = this.expr(s.values[j]!);
        return this.line(depth + 1, s.op === 'sum' ? `${a} += ${v};` : `${a} = ${types[j] === 'f32' ? `fmaxf(${a}, ${v})` : `tessera_imax(${a}, ${v})`};`);
      }),
      L('}'),
    ];
  }
}
