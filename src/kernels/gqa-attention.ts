// Grouped-query attention over a paged K/V cache (Llama, Qwen2, Qwen3): K/V written at each row's
// slot in the cache dtype, and causal attention of every row over its sequence's keys. A program
// owns one (row, KV head) and the `group` query heads sharing it, so each cached key and value is
// read once per group; scores and softmax live in a scratch row per program.
import { KernelBuilder, f32, i32, intrin, math } from '../dsl/builder.js';
import type { BufRef, Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import type { KvDType } from '../ops/kv-cache.js';
import { bf16Bits, f16Bits } from './dsl-half.js';
import { slotOf } from './indexer.js';

/** A cached K/V element of `dtype` as f32. */
function cached(dtype: KvDType, buf: BufRef, idx: Val): Val {
  if (dtype === 'f32') return buf.at(idx);
  return intrin(dtype === 'bf16' ? 'bf16_to_f32' : 'f16_to_f32', buf.at(idx));
}

/** k, v [T, width] (width = kvHeads·headDim, even) -> cache rows slot[t] in `dtype` (16-bit: two per u32 word). */
export function writeKvKernel(dtype: KvDType): Kernel {
  const k = new KernelBuilder(`write_kv_${dtype}`, 64);
  const kIn = k.buf('k', 'f32');
  const vIn = k.buf('v', 'f32');
  const slots = k.buf('slots', 'i32');
  const cacheK = k.buf('cache_k', dtype === 'f32' ? 'f32' : 'u32', true);
  const cacheV = k.buf('cache_v', dtype === 'f32' ? 'f32' : 'u32', true);
  const rows = k.scalar('rows');
  const width = k.scalar('width');
  k.programs(rows);
  k.work(rows, width);
  const slot = k.let(slots.at(k.pid), 'slot');
  const src = k.let(k.pid.mul(width), 'src');
  if (dtype === 'f32') {
    k.parallel(width, (i) => {
      cacheK.set(slot.mul(width).add(i), kIn.at(src.add(i)));
      cacheV.set(slot.mul(width).add(i), vIn.at(src.add(i)));
    });
  } else {
    const bits = dtype === 'bf16' ? bf16Bits : f16Bits;
    const words = k.let(width.div(2), 'words');
    k.parallel(words, (w) => {
      const at = (b: BufRef, j: number) => bits(k, b.at(src.add(w.mul(2)).add(j)));
      cacheK.set(slot.mul(words).add(w), at(kIn, 0).bor(at(kIn, 1).shl(16)));
      cacheV.set(slot.mul(words).add(w), at(vIn, 0).bor(at(vIn, 1).shl(16)));
    });
  }
  return k.build();
}

/**
 * q [rows, heads·D] -> out [rows, heads·D]: row t attends to keys 0..row_pos[t] of its sequence;
 * query head h reads KV head h / group. Programs: rows × kvHeads.
 */
export function gqaAttentionKernel(dtype: KvDType, headDim: number, group: number): Kernel {
  const D = headDim;
  const k = new KernelBuilder(`gqa_attn_${dtype}_d${D}_g${group}`, 64, 'dynamic');
  const q = k.buf('q', 'f32');
  const elem = dtype === 'f32' ? 'f32' : 'u16';
  const cacheK = k.buf('cache_k', elem);
  const cacheV = k.buf('cache_v', elem);
  const rowSeq = k.buf('row_seq', 'i32');
  const rowPos = k.buf('row_pos', 'i32');
  const tables = k.buf('tables', 'i32');
  const scratch = k.buf('scratch', 'f32', true);
  const slots = k.buf('slots', 'i32', true);
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const kvHeads = k.scalar('kv_heads');
  const maxKeys = k.scalar('max_keys');
  const scale = k.scalar('scale', 'f32');
  const blockSize = k.scalar('block_size');
  const maxBlocks = k.scalar('max_blocks');
  const acc = k.local('acc', 'f32', group * D);
  k.programs(rows.mul(kvHeads));
  k.work(rows, kvHeads, maxKeys, i32(2 * group * D));
  const t = k.let(k.pid.div(kvHeads), 't');
  const kh = k.let(k.pid.sub(t.mul(kvHeads)), 'kh');
  const pos = k.let(rowPos.at(t), 'pos');
  const seq = k.let(rowSeq.at(t), 'seq');
  const nk = k.let(pos.add(1), 'nk');
  const sbase = k.let(k.pid.mul(maxKeys), 'sbase');
  const width = k.let(kvHeads.mul(D), 'width');
  const qRow = k.let(t.mul(kvHeads).add(kh).mul(group * D), 'qrow'); // heads kh·group .. +group of row t
  // scores, [maxKeys, group] per program
  k.parallel(nk, (j) => {
    const slot = k.let(slotOf(tables, seq, j, blockSize, maxBlocks), 'slot');
    slots.set(sbase.add(j), slot);
    const kb = k.let(slot.mul(width).add(kh.mul(D)), 'kb');
    for (let g = 0; g < group; g++) {
      const [dot] = k.reduce('sum', D, (d) => [q.at(qRow.add(g * D).add(d)).mul(cached(dtype, cacheK, kb.add(d)))]);
      scratch.set(sbase.add(j).mul(group).add(g), dot!.mul(scale));
    }
  });
  for (let g = 0; g < group; g++) {
    const col = (j: Val) => sbase.add(j).mul(group).add(g);
    const [m] = k.reduce('max', nk, (j) => [scratch.at(col(j))]);
    const [sum] = k.reduce('sum', nk, (j) => [math('exp', scratch.at(col(j)).sub(m!))]);
    const inv = k.let(f32(1).div(sum!), 'inv');
    k.parallel(nk, (j) => scratch.set(col(j), math('exp', scratch.at(col(j)).sub(m!)).mul(inv)));
  }
  k.parallel(group * D, (c) => acc.set(c, 0));
  k.for(0, nk, (j) => {
    const vb = k.let(slots.at(sbase.add(j)).mul(width).add(kh.mul(D)), 'vb');
    const pb = k.let(sbase.add(j).mul(group), 'pb');
    k.parallel(D, (c) => {
      const v = k.let(cached(dtype, cacheV, vb.add(c)), 'v');
      for (let g = 0; g < group; g++) acc.set(c.add(g * D), acc.at(c.add(g * D)).add(scratch.at(pb.add(g)).mul(v)));
    });
  });
  k.parallel(group * D, (c) => out.set(qRow.add(c), acc.at(c)));
  return k.build();
}
