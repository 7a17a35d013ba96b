// FP8 e4m3 arithmetic written in the DSL: bit-exact with src/numerics/fp8.ts on every target
// (only exact operations: multiplications by powers of two, floor, integer bit manipulation).
import { f32, math, select, u32 } from '../dsl/builder.js';
import type { KernelBuilder, Val } from '../dsl/builder.js';

/** 2^e for an integer-valued i32 `e` in the normal range, built from the exponent bits. */
export function pow2(e: Val): Val {
  return e.add(127).shl(23).bits('f32');
}

/** floor(log2(a)) for a normal, positive f32. */
export function exponentOf(a: Val): Val {
  return a.bits('u32').shr(23).band(0xff).i32().sub(127);
}

/** Round half to even of a non-negative f32 holding at most 24 significant bits. */
export function roundHalfEven(k: KernelBuilder, r: Val): Val {
  const f = k.let(math('floor', r), 'f');
  const d = k.let(r.sub(f), 'd');
  const odd = f.i32().band(1).eq(1);
  return select(d.gt(0.5).or(d.eq(0.5).and(odd)), f.add(1), f);
}

/**
 * The e4m3fn code (u32 0..255) of round-to-nearest-even(clamp(x, ±448)).
 * Normal values: code = ((e + 7) << 3) + (round(a·2^(3-e)) - 8), a carry into the exponent is exact.
 */
export function e4m3Code(k: KernelBuilder, x: Val): Val {
  const c = k.let(x.max(-448).min(448), 'c');
  const a = k.let(math('abs', c), 'a');
  const sub = k.let(a.lt(2 ** -6), 'sub');
  const e = k.let(select(sub, 0, exponentOf(select(sub, f32(1), a))).i32(), 'e');
  // subnormal: round(a·2^9) is the code itself; normal: mantissa steps of 2^(e-3)
  const scaled = k.let(select(sub, a.mul(512), a.mul(pow2(e.neg().add(3)))), 'sc');
  const r = k.let(roundHalfEven(k, scaled).u32(), 'rn');
  const mag = select(sub, r, e.add(7).u32().shl(3).add(r).sub(8));
  return select(c.lt(0), mag.bor(0x80), mag).u32();
}

/** ue8m0 block scale of amax: 2^ceil(log2(max(amax, 1e-4) · f32(1/448))) and its reciprocal. */
export function ue8m0Scale(k: KernelBuilder, amax: Val): { scale: Val; inv: Val } {
  const p = k.let(amax.max(Math.fround(1e-4)).mul(Math.fround(1 / 448)), 'p');
  const bits = p.bits('u32');
  const exp = k.let(bits.shr(23).band(0xff).add(select(bits.band(0x7fffff).ne(0), u32(1), u32(0))), 'se');
  return { scale: k.let(exp.shl(23).bits('f32'), 's'), inv: k.let(u32(254).sub(exp).shl(23).bits('f32'), 'si') };
}

/** The plain scale max(amax, 1e-4) · f32(1/448) and its reciprocal (used as x / s). */
export function plainScale(k: KernelBuilder, amax: Val): { scale: Val } {
  return { scale: k.let(amax.max(Math.fround(1e-4)).mul(Math.fround(1 / 448)), 's') };
}
