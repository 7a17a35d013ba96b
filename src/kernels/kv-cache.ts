// Paged KV cache kernels. Slot of a row or key = block_table[pos / B] * B + pos % B, resolved on
// the host into slot lists per step. Latents of DeepSeek-V3.2 are stored as e4m3 codes + one ue8m0
// scale per 128 values (exact: they went through the same FP8 round trip); others as float32.
import { KernelBuilder, i32, intrin, math, u32 } from '../dsl/builder.js';
import type { BufRef, Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import { e4m3Code, ue8m0Scale } from './dsl-fp8.js';

export type LatentFormat = 'fp8' | 'f32';

/**
 * Quantize src[base .. base+128) and write its codes (4 per u32 word) and scale: the 128-wide
 * block `block` of row `slot` in a [slots, width] code matrix.
 */
function writeQuantBlock(k: KernelBuilder, src: BufRef, base: Val, n: Val, codes: BufRef, scales: BufRef, wordBase: Val, scaleIdx: Val): void {
  const [amax] = k.reduce('max', n, (i) => [math('abs', src.at(base.add(i)))]);
  const { scale, inv } = ue8m0Scale(k, amax!);
  scales.set(scaleIdx, scale);
  k.parallel(n.add(3).div(4), (w) => {
    let word: Val = u32(0);
    for (let b = 0; b < 4; b++) {
      const i = k.let(w.mul(4).add(b), 'i');
      const code = k.let(e4m3Code(k, src.at(base.add(i.min(n.sub(1)))).mul(inv)), 'code');
      word = word.bor(code.band(0xff).shl(8 * b));
    }
    codes.set(wordBase.add(w), word);
  });
}

/** latent [T, r], kpe [T, rope] -> cache slots slot[t]. */
export function writeLatentKernel(format: LatentFormat): Kernel {
  const k = new KernelBuilder(`write_latent_${format}`, 64);
  const latent = k.buf('latent', 'f32');
  const kpe = k.buf('kpe', 'f32');
  const slots = k.buf('slots', 'i32');
  const cacheLatent = k.buf('cache_latent', format === 'fp8' ? 'u32' : 'f32', true);
  const cacheScales = format === 'fp8' ? k.buf('cache_scales', 'f32', true) : null;
  const cachePe = k.buf('cache_pe', 'f32', true);
  const rows = k.scalar('rows');
  const r = k.scalar('r');
  const rope = k.scalar('rope');
  const blocks = k.let(r.add(127).div(128), 'blocks');
  k.programs(rows.mul(blocks));
  k.work(rows, r);
  const t = k.let(k.pid.div(blocks), 't');
  const b = k.let(k.pid.sub(t.mul(blocks)), 'b');
  const slot = k.let(slots.at(t), 'slot');
  const n = k.let(r.sub(b.mul(128)).min(128), 'n');
  if (cacheScales) {
    writeQuantBlock(k, latent, t.mul(r).add(b.mul(128)), n, cacheLatent, cacheScales, slot.mul(r).add(b.mul(128)).div(4), slot.mul(blocks).add(b));
  } else {
    k.parallel(n, (i) => cacheLatent.set(slot.mul(r).add(b.mul(128)).add(i), latent.at(t.mul(r).add(b.mul(128)).add(i))));
  }
  k.if(b.eq(0), () => k.parallel(rope, (i) => cachePe.set(slot.mul(rope).add(i), kpe.at(t.mul(rope).add(i)))));
  return k.build();
}

/** Indexer keys: e4m3 values [T, 128] + scales [T] -> codes + scale at slot[t]. */
export function writeIndexKernel(): Kernel {
  const k = new KernelBuilder('write_index', 32);
  const values = k.buf('values', 'f32');
  const scales = k.buf('scales', 'f32');
  const slots = k.buf('slots', 'i32');
  const cacheCodes = k.buf('cache_codes', 'u32', true);
  const cacheScales = k.buf('cache_scales', 'f32', true);
  const rows = k.scalar('rows');
  k.programs(rows);
  k.work(rows, i32(128));
  const slot = k.let(slots.at(k.pid), 'slot');
  cacheScales.set(slot, scales.at(k.pid));
  k.parallel(32, (w) => {
    let word: Val = u32(0);
    for (let b = 0; b < 4; b++) {
      // the values are exact e4m3 already: quantizing them again returns their own codes
      const code = e4m3Code(k, values.at(k.pid.mul(128).add(w.mul(4)).add(b)));
      word = word.bor(code.band(0xff).shl(8 * b));
    }
    cacheCodes.set(slot.mul(32).add(w), word);
  });
  return k.build();
}

/** Decoded latents and rope keys of a slot list: latent [K, r], kpe [K, rope]. */
export function gatherLatentKernel(format: LatentFormat): Kernel {
  const k = new KernelBuilder(`gather_latent_${format}`, 64);
  const slots = k.buf('slots', 'i32');
  const cacheLatent = k.buf('cache_latent', format === 'fp8' ? 'u8' : 'f32');
  const cacheScales = format === 'fp8' ? k.buf('cache_scales', 'f32') : null;
  const cachePe = k.buf('cache_pe', 'f32');
  const latent = k.buf('latent', 'f32', true);
  const kpe = k.buf('kpe', 'f32', true);
  const keys = k.scalar('keys');
  const r = k.scalar('r');
  const rope = k.scalar('rope');
  k.programs(keys);
  k.work(keys, r);
  const slot = k.let(slots.at(k.pid), 'slot');
  k.parallel(r, (i) => {
    const raw = cacheLatent.at(slot.mul(r).add(i));
    const v = cacheScales ? intrin('e4m3_to_f32', raw).mul(cacheScales.at(slot.mul(r.add(127).div(128)).add(i.div(128)))) : raw;
    latent.set(k.pid.mul(r).add(i), v);
  });
  k.parallel(rope, (i) => kpe.set(k.pid.mul(rope).add(i), cachePe.at(slot.mul(rope).add(i))));
  return k.build();
}
