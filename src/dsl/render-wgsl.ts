// WGSL for WebGPU. Programs are workgroups of `threads` invocations: program-level code runs in
// every invocation (uniform), `parallel` strides over the invocations, `reduce` is a tree in
// workgroup memory. WGSL's uniformity rules require barriers in uniform control flow, so every
// program-level value read from memory is broadcast from invocation 0 with workgroupUniformLoad.
// 8/16-bit buffers are bound as array<u32> and unpacked on load; expert lists are packed buffers.
// Where a kernel has more storage buffers than a device allows, a binding plan serves groups of
// read-only buffers of one element type from single bindings (`__merged<g>`, each buffer at an
// element offset `<name>__base` in the uniforms); the device concatenates them before the dispatch.
import type { BinOp, Expr, Kernel, Param, Scalar, Stmt } from './ir.js';
import { INFIX, Renderer, reductionArrays } from './render-base.js';
import { forEachExpr, someExpr } from './ir-walk.js';

const WGSL_TYPES: Record<Scalar, string> = { f32: 'f32', i32: 'i32', u32: 'u32', bool: 'bool' };
/** WGSL has no infinity literals, and implementations may assume finite math: use the f32 extremes. */
const F32_MAX = '0x1.fffffep+127f';

const PRELUDE = `fn tessera_e4m3(c: u32) -> f32 {
  let e = (c >> 3u) & 15u;
  let m = f32(c & 7u) / 8.0f;
  let v = select(ldexp(1.0f + m, i32(e) - 7), ldexp(m, -6), e == 0u);
  return select(v, -v, (c & 128u) != 0u);
}
fn tessera_bf16(h: u32) -> f32 { return bitcast<f32>(h << 16u); }
fn tessera_f16(h: u32) -> f32 { return unpack2x16float(h).x; }
`;

function usesLoad(e: Expr): boolean {
  return someExpr(e, (x) => x.k === 'load' || x.k === 'listload');
}

/** Names of buffers and locals that are read somewhere in a statement list. */
function loadedNames(body: readonly Stmt[]): Set<string> {
  const out = new Set<string>();
  forEachExpr(body, (e) => {
    if (e.k === 'load') out.add(e.buf);
    if (e.k === 'listload') out.add(e.list);
  });
  return out;
}

/** Groups of read-only buffer params, each group served from one binding (in this order). */
export interface WgslBindingPlan {
  readonly merged: ReadonlyArray<readonly string[]>;
}

const NO_PLAN: WgslBindingPlan = { merged: [] };

export interface WgslBinding {
  readonly name: string;
  readonly kind: 'storage' | 'uniform';
  readonly write: boolean;
}

/** Binding name of merged group `g`. */
export function mergedBinding(g: number): string {
  return `__merged${g}`;
}

/** Storage element type of a buffer param as WGSL binds it. */
export function wgslStorageElem(p: Param): 'f32' | 'i32' | 'u32' {
  if (p.kind === 'scalar') throw new Error(`scalar ${p.name} has no storage`);
  return p.elem === 'u8' || p.elem === 'u16' ? 'u32' : p.elem;
}

/**
 * Groups of read-only buffers (one element type per group) to merge so that `k` binds at most
 * `maxStorage` storage buffers, or null when it cannot. Small per-step metadata (row positions,
 * block tables, selections) is i32, so i32 buffers are merged first, then u32, then f32.
 */
export function planBindings(k: Kernel, maxStorage: number): WgslBindingPlan | null {
  let count = k.params.filter((p) => p.kind !== 'scalar').length;
  const merged: string[][] = [];
  for (const elem of ['i32', 'u32', 'f32'] as const) {
    if (count <= maxStorage) break;
    const candidates = k.params.filter((p) => p.kind === 'buf' && !p.write && wgslStorageElem(p) === elem).map((p) => p.name);
    if (candidates.length < 2) continue;
    const group = candidates.slice(0, Math.max(2, count - maxStorage + 1));
    merged.push(group);
    count -= group.length - 1;
  }
  return count <= maxStorage ? { merged } : null;
}

export class WgslRenderer extends Renderer {
  readonly target = 'wgsl';
  private plan: WgslBindingPlan = NO_PLAN;
  private broadcasts: Array<{ name: string; t: Scalar }> = [];
  private reductions = new Map<Scalar, number>();
  private readLater = new Set<string>();
  private bindings = new Map<string, string>();

  /** WGSL for `k` with groups of read-only buffers merged into single bindings (see planBindings). */
  renderWithPlan(k: Kernel, plan: WgslBindingPlan): string {
    this.plan = plan;
    try {
      return this.render(k);
    } finally {
      this.plan = NO_PLAN;
    }
  }

  /**
   * Binding order: buffers and lists as declared (merged ones left out), then the merged groups,
   * then the uniform block of scalars.
   */
  bindingOrder(k: Kernel, plan: WgslBindingPlan = NO_PLAN): WgslBinding[] {
    const merged = new Set(plan.merged.flat());
    const out: WgslBinding[] = [];
    for (const p of k.params) if (p.kind !== 'scalar' && !merged.has(p.name)) out.push({ name: p.name, kind: 'storage', write: p.kind === 'buf' && p.write });
    plan.merged.forEach((_, g) => out.push({ name: mergedBinding(g), kind: 'storage', write: false }));
    out.push({ name: '__params', kind: 'uniform', write: false });
    return out;
  }

  /** Uniform fields in order: every scalar parameter, a stride per list, an offset per merged buffer. */
  uniformFields(k: Kernel, plan: WgslBindingPlan = NO_PLAN): string[] {
    return [
      ...k.params.filter((p) => p.kind === 'scalar').map((p) => p.name),
      ...k.params.filter((p) => p.kind === 'list').map((p) => `${p.name}_stride`),
      ...plan.merged.flat().map((name) => `${name}__base`),
    ];
  }

  protected renderKernel(k: Kernel): string {
    this.broadcasts = [];
    this.reductions = new Map();
    this.readLater = loadedNames(k.body);
    const groupOf = new Map<string, number>();
    this.plan.merged.forEach((names, g) => {
      for (const name of names) {
        const p = k.params.find((x) => x.name === name);
        if (!p || p.kind !== 'buf' || p.write) throw new Error(`kernel ${k.name}: only read-only buffers can be merged (${name})`);
        if (wgslStorageElem(p) !== this.groupElem(k, g)) throw new Error(`kernel ${k.name}: merged buffers must share an element type`);
        groupOf.set(name, g);
      }
    });
    this.bindings = new Map(k.params.filter((p) => p.kind !== 'scalar').map((p) => [p.name, groupOf.has(p.name) ? `b_${mergedBinding(groupOf.get(p.name)!)}` : `b_${p.name}`]));
    const body = this.block(k.body, 1);
    const fields = this.uniformFields(k, this.plan);
    const scalarType = (name: string) => {
      const p = k.params.find((x) => x.name === name);
      return p && p.kind === 'scalar' ? p.t : 'i32';
    };
    const padded = [...fields.map((f) => `  ${f}: ${scalarType(f)},`)];
    for (let i = fields.length; i % 4 !== 0 || i === 0; i++) padded.push(`  _pad${i}: i32,`);
    const lines: string[] = [PRELUDE, 'struct Params {', ...padded, '};'];
    this.bindingOrder(k, this.plan).forEach((b, i) => {
      if (b.kind === 'uniform') lines.push(`@group(0) @binding(${i}) var<uniform> params: Params;`);
      else {
        const g = this.plan.merged.findIndex((_, j) => mergedBinding(j) === b.name);
        const elem = g >= 0 ? this.groupElem(k, g) : wgslStorageElem(k.params.find((x) => x.name === b.name)!);
        lines.push(`@group(0) @binding(${i}) var<storage, ${b.write ? 'read_write' : 'read'}> b_${b.name}: array<${elem}>;`);
      }
    });
    for (const l of k.locals) lines.push(`var<workgroup> l_${l.name}: array<${l.elem}, ${l.size}>;`);
    for (const [t, n] of this.reductions) for (let j = 0; j < n; j++) lines.push(`var<workgroup> red_${t}_${j}: array<${t}, ${k.threads}>;`);
    for (const b of this.broadcasts) lines.push(`var<workgroup> ${b.name}: ${WGSL_TYPES[b.t]};`);
    lines.push(
      `@compute @workgroup_size(${k.threads})`,
      'fn main(@builtin(workgroup_id) wid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {',
      `  let pid = i32(wid.x + wid.y * nwg.x);`,
      `  if (pid >= ${this.expr(k.programs)}) { return; }`,
      ...body,
      '}',
      '',
    );
    return lines.join('\n');
  }

  private groupElem(k: Kernel, g: number): 'f32' | 'i32' | 'u32' {
    return wgslStorageElem(k.params.find((x) => x.name === this.plan.merged[g]![0])!);
  }

  private refName(name: string): string {
    if (this.bindings.has(name)) return this.bindings.get(name)!;
    if (this.kernel.locals.some((l) => l.name === name)) return `l_${name}`;
    return name;
  }

  protected override expr(e: Expr): string {
    if (e.k === 'var' && this.paramByName.get(e.name)?.kind === 'scalar') return `params.${e.name}`;
    return super.expr(e);
  }

  protected scalarType(t: Scalar): string {
    return WGSL_TYPES[t];
  }
  protected constant(t: Scalar, v: number): string {
    if (t === 'f32') {
      if (v === Infinity) return F32_MAX;
      if (v === -Infinity) return `(-${F32_MAX})`;
      const s = String(Math.fround(v));
      return `${/[.e]/.test(s) ? s : `${s}.0`}f`;
    }
    if (t === 'u32') return `${v >>> 0}u`;
    if (t === 'bool') return v ? 'true' : 'false';
    return v === -2147483648 ? '(-2147483647i - 1i)' : `${v | 0}i`;
  }
  protected binary(op: BinOp, _t: Scalar, ot: Scalar, a: string, b: string): string {
    if (op === 'max' || op === 'min') return `${op}(${a}, ${b})`;
    if (op === 'shl' || op === 'shr') return `(${a} ${INFIX[op]} u32(${b}))`;
    if (op === 'mod' && ot === 'f32') return `(${a} - ${b} * trunc(${a} / ${b}))`;
    return `(${a} ${INFIX[op]} ${b})`;
  }
  protected cast(to: Scalar, from: Scalar, a: string): string {
    if (from === 'bool') return `select(${to === 'f32' ? '0.0f, 1.0f' : to === 'u32' ? '0u, 1u' : '0i, 1i'}, ${a})`;
    return `${WGSL_TYPES[to]}(${a})`;
  }
  protected bitcast(to: Scalar, _from: Scalar, a: string): string {
    return `bitcast<${WGSL_TYPES[to]}>(${a})`;
  }
  protected mathCall(fn: Extract<Expr, { k: 'math' }>['fn'], a: string): string {
    return `${fn}(${a})`;
  }
  protected intrinsic(fn: Extract<Expr, { k: 'intrin' }>['fn'], a: string): string {
    return fn === 'bf16_to_f32' ? `tessera_bf16(${a})` : fn === 'f16_to_f32' ? `tessera_f16(${a})` : `tessera_e4m3(${a})`;
  }
  protected override select(c: string, a: string, b: string): string {
    return `select(${b}, ${a}, ${c})`;
  }
  private unpack(ref: string, elem: string, idx: string): string {
    if (elem === 'u8') return `((${ref}[(${idx}) >> 2u] >> ((u32(${idx}) & 3u) * 8u)) & 255u)`;
    if (elem === 'u16') return `((${ref}[(${idx}) >> 1u] >> ((u32(${idx}) & 1u) * 16u)) & 65535u)`;
    return `${ref}[${idx}]`;
  }
  protected load(buf: string, idx: string): string {
    const p = this.paramByName.get(buf);
    const elem = p && p.kind !== 'scalar' ? p.elem : 'f32';
    const packed = elem === 'u8' || elem === 'u16';
    if (this.plan.merged.some((names) => names.includes(buf))) {
      const at = packed ? `(u32(params.${buf}__base) + u32(${idx}))` : `(params.${buf}__base + ${idx})`;
      return this.unpack(this.refName(buf), elem, at);
    }
    return this.unpack(this.refName(buf), elem, packed ? `u32(${idx})` : idx);
  }
  protected listLoad(list: string, which: string, idx: string): string {
    const p = this.paramByName.get(list)!;
    const elem = p.kind === 'list' ? p.elem : 'f32';
    const flat = `(u32(${which}) * u32(params.${list}_stride) + u32(${idx}))`;
    return this.unpack(this.refName(list), elem, flat);
  }
  protected pid(): string {
    return 'pid';
  }

  // ---- statements ------------------------------------------------------------------------------
  private barriers(depth: number): string[] {
    return [this.line(depth, 'storageBarrier();'), this.line(depth, 'workgroupBarrier();')];
  }

  /** A uniform copy of a program-level value that reads memory: computed by invocation 0. */
  private broadcast(value: Expr, depth: number): { pre: string[]; expr: string } {
    if (!usesLoad(value)) return { pre: [], expr: this.expr(value) };
    const name = `bc_${this.broadcasts.length}`;
    this.broadcasts.push({ name, t: value.t });
    return { pre: [this.line(depth, `if (lid == 0u) { ${name} = ${this.expr(value)}; }`)], expr: `workgroupUniformLoad(&${name})` };
  }

  protected stmt(s: Stmt, depth: number): string[] {
    return this.programStmt(s, depth);
  }

  private programStmt(s: Stmt, depth: number): string[] {
    const L = (t: string) => this.line(depth, t);
    switch (s.k) {
      case 'let': {
        const b = this.broadcast(s.init, depth);
        return [...b.pre, L(`${s.mutable ? 'var' : 'let'} ${s.name}: ${WGSL_TYPES[s.t]} = ${b.expr};`)];
      }
      case 'assign': {
        const b = this.broadcast(s.value, depth);
        return [...b.pre, L(`${s.name} = ${b.expr};`)];
      }
      case 'store': {
        const out = [L(`if (lid == 0u) { ${this.refName(s.buf)}[${this.expr(s.idx)}] = ${this.expr(s.value)}; }`)];
        return this.readLater.has(s.buf) ? [...out, ...this.barriers(depth)] : out;
      }
      case 'for': {
        const from = this.broadcast(s.from, depth);
        const to = this.broadcast(s.to, depth);
        return [...from.pre, ...to.pre, L(`for (var ${s.v}: i32 = ${from.expr}; ${s.v} < ${to.expr}; ${s.v}++) {`), ...s.body.flatMap((b) => this.programStmt(b, depth + 1)), L('}')];
      }
      case 'if': {
        const c = this.broadcast(s.c, depth);
        const out = [...c.pre, L(`if (${c.expr}) {`), ...s.then.flatMap((b) => this.programStmt(b, depth + 1))];
        if (s.else.length) out.push(L('} else {'), ...s.else.flatMap((b) => this.programStmt(b, depth + 1)));
        return [...out, L('}')];
      }
      case 'prefetch':
        return []; // a CPU cache hint
      case 'call':
        return [L(`${this.spell(s.spellings, s.args)};`)];
      case 'parallel': {
        const n = this.broadcast(s.n, depth);
        return [
          ...n.pre,
          L(`for (var ${s.v}: i32 = i32(lid); ${s.v} < ${n.expr}; ${s.v} += ${this.kernel.threads}) {`),
          ...s.body.flatMap((b) => this.laneStmt(b, depth + 1)),
          L('}'),
          ...this.barriers(depth),
        ];
      }
      case 'reduce':
        return this.collectiveReduce(s, depth);
    }
  }

  private collectiveReduce(s: Extract<Stmt, { k: 'reduce' }>, depth: number): string[] {
    const L = (t: string) => this.line(depth, t);
    const n = this.broadcast(s.n, depth);
    const types = s.values.map((v) => v.t);
    const arrays = reductionArrays(types, this.reductions);
    const T = this.kernel.threads;
    const combine = (a: string, b: string) => (s.op === 'sum' ? `(${a} + ${b})` : `max(${a}, ${b})`);
    const out = [
      ...n.pre,
      ...s.accs.map((a, j) => L(`var ${a}: ${WGSL_TYPES[types[j]!]} = ${this.identity(s.op, types[j]!)};`)),
      L(`for (var ${s.v}: i32 = i32(lid); ${s.v} < ${n.expr}; ${s.v} += ${T}) {`),
      ...s.body.flatMap((b) => this.laneStmt(b, depth + 1)),
      ...s.accs.map((a, j) => this.line(depth + 1, `${a} = ${combine(a, this.expr(s.values[j]!))};`)),
      L('}'),
      ...s.accs.map((a, j) => L(`${arrays[j]}[lid] = ${a};`)),
      L('workgroupBarrier();'),
      L(`for (var step = ${T / 2}u; step > 0u; step = step >> 1u) {`),
      L(`  if (lid < step) {`),
      ...s.accs.map((_, j) => this.line(depth + 2, `${arrays[j]}[lid] = ${combine(`${arrays[j]}[lid]`, `${arrays[j]}[lid + step]`)};`)),
      L('  }'),
      L('  workgroupBarrier();'),
      L('}'),
      ...s.accs.map((a, j) => L(`${a} = workgroupUniformLoad(&${arrays[j]}[0]);`)),
      L('workgroupBarrier();'),
    ];
    return out;
  }

  private identity(op: 'sum' | 'max', t: Scalar): string {
    if (op === 'sum') return t === 'f32' ? '0.0f' : t === 'u32' ? '0u' : '0i';
    return t === 'f32' ? `(-${F32_MAX})` : t === 'u32' ? '0u' : '(-2147483647i - 1i)';
  }

  /** Statements inside a parallel loop: per invocation, no barriers. */
  private laneStmt(s: Stmt, depth: number): string[] {
    const L = (t: string) => this.line(depth, t);
    switch (s.k) {
      case 'let':
        return [L(`${s.mutable ? 'var' : 'let'} ${s.name}: ${WGSL_TYPES[s.t]} = ${this.expr(s.init)};`)];
      case 'assign':
        return [L(`${s.name} = ${this.expr(s.value)};`)];
      case 'store':
        return [L(`${this.refName(s.buf)}[${this.expr(s.idx)}] = ${this.expr(s.value)};`)];
      case 'for':
        return [L(`for (var ${s.v}: i32 = ${this.expr(s.from)}; ${s.v} < ${this.expr(s.to)}; ${s.v}++) {`), ...s.body.flatMap((b) => this.laneStmt(b, depth + 1)), L('}')];
      case 'if': {
        const out = [L(`if (${this.expr(s.c)}) {`), ...s.then.flatMap((b) => this.laneStmt(b, depth + 1))];
        if (s.else.length) out.push(L('} else {'), ...s.else.flatMap((b) => this.laneStmt(b, depth + 1)));
        return [...out, L('}')];
      }
      case 'prefetch':
        return []; // a CPU cache hint
      case 'call':
        return [L(`${this.spell(s.spellings, s.args)};`)];
      case 'parallel':
        throw new Error(`kernel ${this.kernel.name}: parallel inside parallel`);
      case 'reduce': {
        const types = s.values.map((v) => v.t);
        return [
          ...s.accs.map((a, j) => L(`var ${a}: ${WGSL_TYPES[types[j]!]} = ${this.identity(s.op, types[j]!)};`)),
          L(`for (var ${s.v}: i32 = 0i; ${s.v} < ${this.expr(s.n)}; ${s.v}++) {`),
          ...s.body.flatMap((b) => this.laneStmt(b, depth + 1)),
          ...s.accs.map((a, j) => this.line(depth + 1, `${a} = ${s.op === 'sum' ? `${a} + ${this.expr(s.values[j]!)}` : `max(${a}, ${this.expr(s.values[j]!)})`};`)),
          L('}'),
        ];
      }
    }
  }
}
