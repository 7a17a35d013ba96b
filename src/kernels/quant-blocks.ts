// GGUF's quantized block types as kernels read them (the layouts of src/formats/gguf-dequant.ts).
// A block is `subs` sub-blocks of `size` elements; every element of a sub-block is
// value = scale · q + offset with the sub-block's scale and offset (or none) and the element's
// integer quant q. A sub-block is read in `steps` steps whose bytes are consecutive (the step index
// addresses them with stride 1, so C renders the step loop with vector loads); a step yields one
// or two elements (two nibbles of one byte).
//
// Scales and offsets are computed as llama.cpp's dequantize_row_* computes them (d·sc and dmin·m
// in float32), and scale · q is exact in float32 for every type but Q6_K (whose product is the
// last operation), so scale · q + offset rounds the same with or without a fused multiply-add.
import { i32, intrin, select } from '../dsl/builder.js';
import type { KernelBuilder, Val } from '../dsl/builder.js';
import type { QuantDType } from '../formats/dtype.js';
import { QUANT_BLOCKS } from '../formats/dtype.js';
import { VEC_DOT_TYPE } from '../formats/gguf-act-quant.js';
import type { ActQuantType } from '../formats/gguf-act-quant.js';

/** Reads byte `i` of the weight (u32 0..255). */
export type ByteReader = (i: Val) => Val;

export interface SubBlock {
  readonly scale: Val;
  /** null: value = scale · q */
  readonly offset: Val | null;
  /** per sub-block values the steps need (byte bases, shifts, high-bit words) */
  readonly at: Readonly<Record<string, Val>>;
}

export interface Term {
  /** the element's index within its sub-block */
  readonly at: Val;
  /** its integer quant as f32 */
  readonly q: Val;
}

export interface QuantCode {
  readonly dtype: QuantDType;
  readonly elements: number;
  readonly bytes: number;
  readonly subs: number;
  readonly size: number;
  readonly steps: number;
  readonly hasOffset: boolean;
  /** llama.cpp's activation type for this weight (its vec_dot_type) */
  readonly act: ActQuantType;
  /** scale, offset and step addressing of sub-block s of the block at byte `base` */
  sub(k: KernelBuilder, w: ByteReader, base: Val, s: Val): SubBlock;
  /** the elements of step l (0 ≤ l < steps) of a sub-block */
  terms(k: KernelBuilder, w: ByteReader, sb: SubBlock, l: Val): Term[];
}

const half = (w: ByteReader, i: Val): Val => intrin('f16_to_f32', w(i).bor(w(i.add(1)).shl(8)));
/** a byte's value as a signed int8 (i32) */
const int8 = (u: Val): Val => u.bxor(128).i32().sub(128);
const u32Le = (k: KernelBuilder, w: ByteReader, i: Val): Val =>
  k.let(w(i).bor(w(i.add(1)).shl(8)).bor(w(i.add(2)).shl(16)).bor(w(i.add(3)).shl(24)), 'qh');
const bit = (word: Val, n: Val): Val => word.shr(n.u32()).band(1);

/** Q8_0, Q4_0, Q4_1, Q5_0, Q5_1: one sub-block of 32 with d (and m), and the quants at `qs`. */
function block32(dtype: QuantDType, layout: { m: number | null; qh: number | null; qs: number }, quant: (k: KernelBuilder, sb: SubBlock, byte: Val, l: Val) => Term[]): QuantCode {
  const pairs = dtype !== 'Q8_0';
  return {
    ...codeBase(dtype),
    subs: 1,
    size: 32,
    steps: pairs ? 16 : 32,
    hasOffset: layout.m !== null,
    sub(k, w, base) {
      const at: Record<string, Val> = { qs: k.let(base.add(layout.qs), 'qs') };
      if (layout.qh !== null) at['qh'] = u32Le(k, w, base.add(layout.qh));
      return { scale: k.let(half(w, base), 'd'), offset: layout.m === null ? null : k.let(half(w, base.add(layout.m)), 'm'), at };
    },
    terms: (k, w, sb, l) => quant(k, sb, k.let(w(sb.at['qs']!.add(l)), 'qb'), l),
  };
}

function codeBase(dtype: QuantDType): { dtype: QuantDType; elements: number; bytes: number; act: ActQuantType } {
  return { dtype, elements: QUANT_BLOCKS[dtype].elements, bytes: QUANT_BLOCKS[dtype].bytes, act: VEC_DOT_TYPE[dtype] };
}

/** The low and high nibble of a byte as elements l and l + 16, each through `q`. */
const nibbles = (byte: Val, l: Val, q: (nibble: Val, hi: boolean) => Val): Term[] => [
  { at: l, q: q(byte.band(15), false) },
  { at: l.add(16), q: q(byte.shr(4), true) },
];

/** 5-bit quants: the nibble plus bit l (low nibble) or l + 16 (high nibble) of qh. */
const fiveBit = (sb: SubBlock, l: Val) => (nibble: Val, hi: boolean): Val => nibble.bor(bit(sb.at['qh']!, hi ? l.add(16) : l).shl(4));

const Q8_0 = block32('Q8_0', { m: null, qh: null, qs: 2 }, (_k, _sb, byte, l) => [{ at: l, q: int8(byte).f32() }]);
const Q4_0 = block32('Q4_0', { m: null, qh: null, qs: 2 }, (_k, _sb, byte, l) => nibbles(byte, l, (n) => n.i32().sub(8).f32()));
const Q4_1 = block32('Q4_1', { m: 2, qh: null, qs: 4 }, (_k, _sb, byte, l) => nibbles(byte, l, (n) => n.f32()));
const Q5_0 = block32('Q5_0', { m: null, qh: 2, qs: 6 }, (_k, sb, byte, l) => nibbles(byte, l, (n, hi) => fiveBit(sb, l)(n, hi).i32().sub(16).f32()));
const Q5_1 = block32('Q5_1', { m: 2, qh: 4, qs: 8 }, (_k, sb, byte, l) => nibbles(byte, l, (n, hi) => fiveBit(sb, l)(n, hi).f32()));

/** Sub-block i = 8n + 2j + h of Q2_K / Q3_K: its 2-bit quants are bits 2j.. of qs[32n + 16h + l]. */
function twoBitAddressing(k: KernelBuilder, qs: Val, s: Val): Record<string, Val> {
  return {
    qs: k.let(qs.add(s.shr(3).mul(32)).add(s.band(1).mul(16)), 'qs'),
    shift: k.let(s.shr(1).band(3).mul(2).u32(), 'sh'),
  };
}

const Q2_K: QuantCode = {
  ...codeBase('Q2_K'),
  subs: 16,
  size: 16,
  steps: 16,
  hasOffset: true,
  sub(k, w, base, s) {
    const sc = k.let(w(base.add(s)), 'sc');
    return {
      scale: k.let(half(w, base.add(80)).mul(sc.band(15).f32()), 'dl'),
      offset: k.let(half(w, base.add(82)).mul(sc.shr(4).f32()).neg(), 'ml'),
      at: twoBitAddressing(k, base.add(16), s),
    };
  },
  terms: (_k, w, sb, l) => [{ at: l, q: w(sb.at['qs']!.add(l)).shr(sb.at['shift']!).band(3).f32() }],
};

const Q3_K: QuantCode = {
  ...codeBase('Q3_K'),
  subs: 16,
  size: 16,
  steps: 16,
  hasOffset: false,
  sub(k, w, base, s) {
    // 6-bit scale i: low 4 bits in nibble i / 8 of byte i % 8, high 2 bits at 2·(i / 4) of byte 8 + i % 4
    const S = base.add(96);
    const low = select(s.lt(8), w(S.add(s.band(7))).band(15), w(S.add(s.band(7))).shr(4));
    const high = w(S.add(8).add(s.band(3))).shr(s.shr(2).mul(2).u32()).band(3);
    const sc = k.let(low.bor(high.shl(4)).i32().sub(32), 'sc');
    return {
      scale: k.let(half(w, base.add(108)).mul(sc.f32()), 'dl'),
      offset: null,
      at: { ...twoBitAddressing(k, base.add(32), s), hm: k.let(base.add(s.band(1).mul(16)), 'hm'), hbit: k.let(s.shr(3).mul(4).add(s.shr(1).band(3)).u32(), 'hb') },
    };
  },
  terms(_k, w, sb, l) {
    const low = w(sb.at['qs']!.add(l)).shr(sb.at['shift']!).band(3).i32();
    const high = w(sb.at['hm']!.add(l)).shr(sb.at['hbit']!).band(1);
    return [{ at: l, q: low.sub(select(high.ne(0), i32(0), i32(4))).f32() }];
  },
};

/** (scale, min) of sub-block j of Q4_K / Q5_K from the 12 scale bytes at S (ggml's get_scale_min_k4). */
function k4ScaleMin(w: ByteReader, S: Val, j: Val): [Val, Val] {
  const lo = j.lt(4);
  const j4 = j.band(3);
  const sc = select(lo, w(S.add(j4)).band(63), w(S.add(j4).add(8)).band(15).bor(w(S.add(j4)).shr(6).shl(4)));
  const m = select(lo, w(S.add(j4).add(4)).band(63), w(S.add(j4).add(8)).shr(4).bor(w(S.add(j4).add(4)).shr(6).shl(4)));
  return [sc, m];
}

function kQuant(dtype: 'Q4_K' | 'Q5_K'): QuantCode {
  const qs = dtype === 'Q4_K' ? 16 : 48;
  return {
    ...codeBase(dtype),
    subs: 8,
    size: 32,
    steps: 32,
    hasOffset: true,
    sub(k, w, base, s) {
      const [sc, m] = k4ScaleMin(w, base.add(4), s);
      return {
        scale: k.let(half(w, base).mul(sc.f32()), 'd1'),
        offset: k.let(half(w, base.add(2)).mul(m.f32()).neg(), 'm1'),
        // sub-block s: the low (s even) or high nibble of qs[32·(s / 2) + l]; Q5_K's 5th bit: bit s of qh[l]
        at: { qs: k.let(base.add(qs).add(s.shr(1).mul(32)), 'qs'), shift: k.let(s.band(1).mul(4).u32(), 'sh'), qh: k.let(base.add(16), 'qh'), hbit: k.let(s.u32(), 'hb') },
      };
    },
    terms(_k, w, sb, l) {
      const nibble = w(sb.at['qs']!.add(l)).shr(sb.at['shift']!).band(15);
      const q = dtype === 'Q4_K' ? nibble : nibble.bor(w(sb.at['qh']!.add(l)).shr(sb.at['hbit']!).band(1).shl(4));
      return [{ at: l, q: q.f32() }];
    },
  };
}

const Q6_K: QuantCode = {
  ...codeBase('Q6_K'),
  subs: 16,
  size: 16,
  steps: 16,
  hasOffset: false,
  sub(k, w, base, s) {
    // sub-block s = 8n + 2g + h: L = 16h + l reads ql[64n + L (+32 for odd g)] (high nibble for
    // g ≥ 2) and bits 2g.. of qh[32n + L]
    const n = s.shr(3);
    const g = k.let(s.shr(1).band(3), 'g');
    const L0 = s.band(1).mul(16);
    return {
      scale: k.let(half(w, base.add(208)).mul(int8(w(base.add(192).add(s))).f32()), 'dsc'),
      offset: null,
      at: {
        ql: k.let(base.add(n.mul(64)).add(L0).add(g.band(1).mul(32)), 'ql'),
        lshift: k.let(g.shr(1).mul(4).u32(), 'ls'),
        qh: k.let(base.add(128).add(n.mul(32)).add(L0), 'qh'),
        hshift: k.let(g.mul(2).u32(), 'hs'),
      },
    };
  },
  terms(_k, w, sb, l) {
    const lo = w(sb.at['ql']!.add(l)).shr(sb.at['lshift']!).band(15);
    const hi = w(sb.at['qh']!.add(l)).shr(sb.at['hshift']!).band(3);
    return [{ at: l, q: lo.bor(hi.shl(4)).i32().sub(32).f32() }];
  },
};

export const QUANT_CODES: Readonly<Record<QuantDType, QuantCode>> = {
  Q8_0,
  Q4_0,
  Q4_1,
  Q5_0,
  Q5_1,
  Q2_K,
  Q3_K,
  Q4_K: kQuant('Q4_K'),
  Q5_K: kQuant('Q5_K'),
  Q6_K,
};

/** value = scale · q + offset */
export function dequantTerm(sb: SubBlock, q: Val): Val {
  const v = sb.scale.mul(q);
  return sb.offset ? v.add(sb.offset) : v;
}
