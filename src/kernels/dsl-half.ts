// float32 -> bf16 / f16 bits written in the DSL (integer arithmetic only): bit-exact with
// f32ToBf16 / f32ToF16 of src/formats/dtype.ts on every target, so a 16-bit KV cache holds the
// same values on every backend.
import { select, u32 } from '../dsl/builder.js';
import type { KernelBuilder, Val } from '../dsl/builder.js';

/** Round-to-nearest-even bf16 bits (u32 0..65535); NaN stays a quiet NaN. */
export function bf16Bits(k: KernelBuilder, x: Val): Val {
  const b = k.let(x.bits('u32'), 'xb');
  const nan = b.band(0x7fffffff).gt(0x7f800000);
  return select(nan, b.shr(16).bor(0x40).band(0xffff), b.add(0x7fff).add(b.shr(16).band(1)).shr(16).band(0xffff));
}

/** Round-to-nearest-even f16 bits (u32 0..65535): overflow gives infinity, tiny values subnormals. */
export function f16Bits(k: KernelBuilder, x: Val): Val {
  const b = k.let(x.bits('u32'), 'xb');
  const sign = k.let(b.shr(16).band(0x8000), 'hs');
  const exp = k.let(b.shr(23).band(0xff).i32(), 'he');
  const man = k.let(b.band(0x7fffff), 'hm');
  const e = k.let(exp.sub(112), 'hx'); // rebias 127 -> 15
  // normal: 10 mantissa bits, ties to even on the 13 dropped ones (a carry into the exponent is exact)
  const rest = k.let(man.band(0x1fff), 'hr');
  const h = k.let(e.max(0).u32().shl(10).bor(man.shr(13)), 'hn');
  const up = rest.gt(0x1000).or(rest.eq(0x1000).and(h.band(1).eq(1)));
  const normal = select(up, h.add(1), h);
  // subnormal: the implicit bit joins the mantissa, shifted by 14 - e (14..24)
  const m1 = k.let(man.bor(0x800000), 'hm1');
  const shift = k.let(e.neg().add(14).max(14).min(24).u32(), 'hsh');
  const hs = k.let(m1.shr(shift), 'hsub');
  const srest = k.let(m1.band(u32(1).shl(shift).sub(1)), 'hsr');
  const half = k.let(u32(1).shl(shift.sub(1)), 'hhalf');
  const sub = select(srest.gt(half).or(srest.eq(half).and(hs.band(1).eq(1))), hs.add(1), hs);
  const nanOrInf = u32(0x7c00).bor(select(man.ne(0), u32(0x200), u32(0)));
  const mag = select(exp.eq(0xff), nanOrInf, select(e.ge(0x1f), u32(0x7c00), select(e.gt(0), normal, select(e.lt(-10), u32(0), sub))));
  return sign.bor(mag);
}
