// Reading weights in their file dtype from kernels.
import type { Elem } from '../dsl/ir.js';
import { intrin } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { WeightDType } from '../ops/tensors.js';

/** The buffer element of a weight dtype: GGUF blocks are bytes (quant-blocks.ts reads them). */
export function weightElem(d: WeightDType): Elem {
  return d === 'F32' ? 'f32' : d === 'F16' || d === 'BF16' ? 'u16' : 'u8';
}

/** A loaded raw element as f32 (FP8: the e4m3 value, without its block scale). GGUF blocks have no per-element decoding. */
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
    default:
      throw new Error(`${d} weights are read per block: only linear, embed and moe take them`);
  }
}
