// The input conversions of 'ggml' mode (llama.cpp's vec_dot types, src/formats/gguf-act-quant.ts).
// Besides the operations the format prescribes (amax / 127 and 127 / amax, or -127 / max and
// 1 / iscale, and the scaling product), only exact float32 operations are used (abs, max,
// comparisons, floor, a value minus its integer part), so a target with IEEE division matches the
// reference bit for bit: C, JS and lavapipe do (0 of 2^21 random values differ per type). WGSL
// allows division within 2.5 ulp, so another GPU may move a value on a rounding tie by one step.
// Each writes the integer quants as f32 values [rows, cols] (an int8 layout comes with the int8
// dot-product kernels), one scale per block and, for Q8_1, the block sums s.
import { KernelBuilder, f32, i32, intrin, math, select } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { ACT_BLOCK } from '../formats/gguf-act-quant.js';
import type { ActQuantType } from '../formats/gguf-act-quant.js';
import { bf16Bits, f16Bits } from './dsl-half.js';
import { roundHalfEven } from './dsl-fp8.js';
import { CHUNK } from './elementwise.js';

/** fp16 rounding of a float32 (round to nearest even) as the float32 it decodes to. */
const toHalf = (k: KernelBuilder, v: Val): Val => intrin('f16_to_f32', f16Bits(k, v));

/** Round half to even of a float32 with |v| < 2^23. */
function roundSigned(k: KernelBuilder, v: Val): Val {
  const m = k.let(roundHalfEven(k, math('abs', v)), 'rm');
  return select(v.lt(0), m.neg(), m);
}

export function actQuantName(type: ActQuantType): string {
  return `ggml_act_${type.toLowerCase()}`;
}

/**
 * x [rows, cols] (cols a multiple of the block) -> y [rows, cols] integer quants, scales
 * [rows · cols / block], and (Q8_1) sums. One program per block.
 */
export function ggmlActQuantKernel(type: ActQuantType): Kernel {
  const B = ACT_BLOCK[type];
  const k = new KernelBuilder(actQuantName(type), Math.min(B, 128));
  const x = k.buf('x', 'f32');
  const y = k.buf('y', 'f32', true);
  const scales = k.buf('scales', 'f32', true);
  const sums = type === 'Q8_1' ? k.buf('sums', 'f32', true) : null;
  const blocks = k.scalar('blocks');
  k.programs(blocks);
  k.work(blocks, i32(B));
  const base = k.let(k.pid.mul(B), 'base');
  const [amax] = k.reduce('max', B, (i) => [math('abs', x.at(base.add(i)))]);
  const live = k.let(amax!.ne(0), 'live');
  let quant: (v: Val) => Val;
  if (type === 'Q8_K') {
    // the value of largest magnitude, the first on ties: max over -index of the blocks' maxima
    const [negFirst] = k.reduce('max', B, (i) => [select(math('abs', x.at(base.add(i))).eq(amax!), i.f32().neg(), f32(-Infinity))]);
    const max = k.let(x.at(base.add(negFirst!.neg().i32())), 'mx');
    const iscale = k.let(select(live, f32(-127).div(max), f32(0)), 'is');
    scales.set(k.pid, select(live, f32(1).div(iscale), f32(0)));
    quant = (v) => roundSigned(k, iscale.mul(v)).min(127);
  } else {
    const id = k.let(select(live, f32(127).div(amax!), f32(0)), 'id');
    const d = k.let(amax!.div(127), 'd');
    scales.set(k.pid, toHalf(k, d));
    quant = (v) => roundSigned(k, v.mul(id));
    if (sums) {
      const [sum] = k.reduce('sum', B, (i) => [quant(x.at(base.add(i)))]);
      sums.set(k.pid, toHalf(k, d.mul(sum!)));
    }
  }
  k.parallel(B, (i) => y.set(base.add(i), quant(x.at(base.add(i)))));
  return k.build();
}

/** y = x rounded to f16 or bf16 (the vec_dot types of F16 and BF16 weights), as float32. */
export function roundActKernel(dtype: 'F16' | 'BF16'): Kernel {
  const k = new KernelBuilder(`ggml_act_${dtype.toLowerCase()}`, 256);
  const x = k.buf('x', 'f32');
  const y = k.buf('y', 'f32', true);
  const n = k.scalar('n');
  k.programs(n.add(CHUNK - 1).div(CHUNK));
  k.work(n);
  const base = k.let(k.pid.mul(CHUNK), 'base');
  k.parallel(n.sub(base).min(CHUNK), (i) => {
    const v = x.at(base.add(i));
    y.set(base.add(i), dtype === 'F16' ? toHalf(k, v) : intrin('bf16_to_f32', bf16Bits(k, v)));
  });
  return k.build();
}
