// Reading weights in their file dtype from kernels.
import type { Elem } from '../dsl/ir.js';
import { intrin } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { WeightDType } from '../ops/tensors.js';

export function weightElem(d: WeightDType): Elem {
  return d === 'F32' ? 'f32' : d === 'F8_E4M3' ? 'u8' : 'u16';
}

/** A loaded raw element as f32 (FP8: the e4m3 value, without its block scale). */
export function decodeWeight(d: WeightDType, raw: Val): Val {
  switch (d) {
    case 'F32':
      return raw;
    case 'BF16':
      return intrin('bf16_to_f32', raw);
    case 'F16':
      return intrin('f16_to_f32', raw);
    case 'F8_E4M3':
      return intrin('e4m3_to_f32', raw);
  }
}
