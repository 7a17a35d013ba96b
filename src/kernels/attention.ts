// MLA attention: the absorbed form over cached latents (decode) and the naive form over
// decompressed keys/values (prefill), both restricted to the indexer's selection when given.
// Scores and softmax live in a scratch row per (row, head); outputs accumulate key by key so the
// inner loop runs over contiguous latent/value columns.
import { KernelBuilder, f32, i32, intrin, math, select } from '../dsl/builder.js';
import type { BufRef, Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import type { WeightDType } from '../ops/tensors.js';
import type { LatentFormat } from './kv-cache.js';
import { slotOf } from './indexer.js';
import { decodeWeight, weightElem } from './weight-decode.js';

/** Softmax in place over scratch[base .. base+n): entries at -inf get probability 0. */
function softmaxScratch(k: KernelBuilder, scratch: BufRef, base: Val, n: Val): void {
  const [m] = k.reduce('max', n, (j) => [scratch.at(base.add(j))]);
  const [sum] = k.reduce('sum', n, (j) => [math('exp', scratch.at(base.add(j)).sub(m!))]);
  const inv = k.let(f32(1).div(sum!), 'inv');
  k.parallel(n, (j) => scratch.set(base.add(j), math('exp', scratch.at(base.add(j)).sub(m!)).mul(inv)));
}

/**
 * Absorbed decode attention for decode rows [row_base, row_base + rows): heads in blocks of
 * `headBlock` per program. qLat [rows, H*r], qPe [rows, H*rope] -> out [rows, H*r].
 */
export function attentionDecodeKernel(format: LatentFormat, r: number, headBlock: number, sparse: boolean): Kernel {
  const k = new KernelBuilder(`attn_decode_${format}_r${r}_hb${headBlock}_${sparse ? 'sparse' : 'dense'}`, 64, 'dynamic');
  const qLat = k.buf('q_lat', 'f32');
  const qPe = k.buf('q_pe', 'f32');
  const cacheLatent = k.buf('cache_latent', format === 'fp8' ? 'u8' : 'f32');
  const cacheScales = format === 'fp8' ? k.buf('cache_scales', 'f32') : null;
  const cachePe = k.buf('cache_pe', 'f32');
  const sel = sparse ? k.buf('sel', 'i32') : null;
  const rowSeq = k.buf('row_seq', 'i32');
  const rowPos = k.buf('row_pos', 'i32');
  const tables = k.buf('tables', 'i32');
  const scratch = k.buf('scratch', 'f32', true);
  const slots = k.buf('slots', 'i32', true);
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const heads = k.scalar('heads');
  const rope = k.scalar('rope');
  const rowBase = k.scalar('row_base');
  const topk = k.scalar('topk');
  const maxKeys = k.scalar('max_keys');
  const scale = k.scalar('scale', 'f32');
  const blockSize = k.scalar('block_size');
  const maxBlocks = k.scalar('max_blocks');
  const acc = k.local('acc', 'f32', headBlock * r);
  const hblocks = k.let(heads.div(headBlock), 'hblocks');
  k.programs(rows.mul(hblocks));
  k.work(rows, heads, maxKeys, i32(r));
  const t = k.let(k.pid.div(hblocks), 't');
  const h0 = k.let(k.pid.sub(t.mul(hblocks)).mul(headBlock), 'h0');
  const row = k.let(rowBase.add(t), 'row');
  const pos = k.let(rowPos.at(row), 'pos');
  const seq = k.let(rowSeq.at(row), 'seq');
  const nk = k.let(sel ? topk : pos.add(1), 'nk');
  const sbase = k.let(k.pid.mul(maxKeys), 'sbase');
  const lat = (slot: Val, c: Val): Val => {
    const raw = cacheLatent.at(slot.mul(r).add(c));
    return cacheScales ? intrin('e4m3_to_f32', raw).mul(cacheScales.at(slot.mul(Math.ceil(r / 128)).add(c.div(128)))) : raw;
  };
  k.parallel(nk, (j) => {
    const s = k.let(sel ? sel.at(row.mul(topk).add(j)) : j, 's');
    const slot = k.let(slotOf(tables, seq, s.max(0), blockSize, maxBlocks), 'slot');
    slots.set(sbase.add(j), slot);
    for (let hh = 0; hh < headBlock; hh++) {
      const qo = k.let(t.mul(heads).add(h0).add(hh), 'qo');
      const [a] = k.reduce('sum', r, (c) => [qLat.at(qo.mul(r).add(c)).mul(lat(slot, c))]);
      const [b] = k.reduce('sum', rope, (d) => [qPe.at(qo.mul(rope).add(d)).mul(cachePe.at(slot.mul(rope).add(d)))]);
      scratch.set(sbase.mul(headBlock).add(hh * 1).add(j.mul(headBlock)), select(s.ge(0), a!.add(b!).mul(scale), f32(-Infinity)));
    }
  });
  for (let hh = 0; hh < headBlock; hh++) {
    // scratch is [maxKeys, headBlock] per program: gather head hh's column through a strided view
    const col = k.let(sbase.mul(headBlock).add(hh), 'col');
    const [m] = k.reduce('max', nk, (j) => [scratch.at(col.add(j.mul(headBlock)))]);
    const [sum] = k.reduce('sum', nk, (j) => [math('exp', scratch.at(col.add(j.mul(headBlock))).sub(m!))]);
    const inv = k.let(f32(1).div(sum!), 'inv');
    k.parallel(nk, (j) => scratch.set(col.add(j.mul(headBlock)), math('exp', scratch.at(col.add(j.mul(headBlock))).sub(m!)).mul(inv)));
  }
  k.parallel(headBlock * r, (c) => acc.set(c, 0));
  k.for(0, nk, (j) => {
    const slot = k.let(slots.at(sbase.add(j)), 'slot');
    const pb = k.let(sbase.mul(headBlock).add(j.mul(headBlock)), 'pb');
    k.parallel(r, (c) => {
      const v = k.let(lat(slot, c), 'v');
      for (let hh = 0; hh < headBlock; hh++) acc.set(c.add(hh * r), acc.at(c.add(hh * r)).add(scratch.at(pb.add(hh)).mul(v)));
    });
  });
  k.parallel(headBlock * r, (c) => out.set(t.mul(heads).add(h0).mul(r).add(c), acc.at(c)));
  return k.build();
}

/**
 * Naive prefill attention for prefill rows: q [rows, H*(nope+rope)] against the gathered keys
 * kv [K, H*(nope+v)], kpe [K, rope] of each row's sequence (starting at row_key_base[t]).
 * One program per (row, head) -> out [rows, H*v].
 */
export function attentionPrefillKernel(nope: number, rope: number, v: number, sparse: boolean): Kernel {
  const k = new KernelBuilder(`attn_prefill_n${nope}r${rope}v${v}_${sparse ? 'sparse' : 'dense'}`, 64, 'dynamic');
  const q = k.buf('q', 'f32');
  const kv = k.buf('kv', 'f32');
  const kpe = k.buf('kpe', 'f32');
  const sel = sparse ? k.buf('sel', 'i32') : null;
  const rowPos = k.buf('row_pos', 'i32');
  const rowKeyBase = k.buf('row_key_base', 'i32');
  const scratch = k.buf('scratch', 'f32', true);
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const heads = k.scalar('heads');
  const topk = k.scalar('topk');
  const maxKeys = k.scalar('max_keys');
  const scale = k.scalar('scale', 'f32');
  const acc = k.local('acc', 'f32', v);
  k.programs(rows.mul(heads));
  k.work(rows, heads, maxKeys, i32(nope + rope + v));
  const t = k.let(k.pid.div(heads), 't');
  const h = k.let(k.pid.sub(t.mul(heads)), 'h');
  const pos = k.let(rowPos.at(t), 'pos');
  const kb = k.let(rowKeyBase.at(t), 'kb');
  const nk = k.let(sel ? topk : pos.add(1), 'nk');
  const sbase = k.let(k.pid.mul(maxKeys), 'sbase');
  const kvw = k.let(heads.mul(nope + v), 'kvw');
  const key = (j: Val): Val => (sel ? sel.at(t.mul(topk).add(j)) : j);
  k.parallel(nk, (j) => {
    const s = k.let(key(j), 's');
    const row = k.let(kb.add(s.max(0)), 'krow');
    const [a] = k.reduce('sum', nope, (d) => [q.at(t.mul(heads).add(h).mul(nope + rope).add(d)).mul(kv.at(row.mul(kvw).add(h.mul(nope + v)).add(d)))]);
    const [b] = k.reduce('sum', rope, (d) => [q.at(t.mul(heads).add(h).mul(nope + rope).add(nope).add(d)).mul(kpe.at(row.mul(rope).add(d)))]);
    scratch.set(sbase.add(j), select(s.ge(0), a!.add(b!).mul(scale), f32(-Infinity)));
  });
  softmaxScratch(k, scratch, sbase, nk);
  k.parallel(v, (c) => acc.set(c, 0));
  k.for(0, nk, (j) => {
    const row = k.let(kb.add(key(j).max(0)), 'vrow');
    const p = k.let(scratch.at(sbase.add(j)), 'pj');
    k.parallel(v, (c) => acc.set(c, acc.at(c).add(p.mul(kv.at(row.mul(kvw).add(h.mul(nope + v)).add(nope).add(c))))));
  });
  k.parallel(v, (c) => out.set(t.mul(heads).add(h).mul(v).add(c), acc.at(c)));
  return k.build();
}

/** Dequantized element of kv_b (FP8 with its 128x128 block scales). */
function kvbAt(dtype: WeightDType, w: BufRef, scales: BufRef | null, row: Val, col: Val, r: number): Val {
  const v = decodeWeight(dtype, w.at(row.mul(r).add(col)));
  return scales ? v.mul(scales.at(row.div(128).mul(Math.ceil(r / 128)).add(col.div(128)))) : v;
}

/** q_lat[t,h,:] = Σ_d q_nope[t,h,d] · kv_b[h*(nope+v)+d, :]  -> [T, H*r] */
export function absorbQueryKernel(dtype: WeightDType, nope: number, v: number, r: number): Kernel {
  const k = new KernelBuilder(`absorb_q_${dtype.toLowerCase()}_n${nope}v${v}r${r}`, 64);
  const q = k.buf('q', 'f32');
  const w = k.buf('w', weightElem(dtype));
  const scales = dtype === 'F8_E4M3' ? k.buf('w_scales', 'f32') : null;
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const heads = k.scalar('heads');
  const acc = k.local('acc', 'f32', r);
  k.programs(rows.mul(heads));
  k.work(rows, heads, i32(nope * r));
  const t = k.let(k.pid.div(heads), 't');
  const h = k.let(k.pid.sub(t.mul(heads)), 'h');
  k.parallel(r, (c) => acc.set(c, 0));
  k.for(0, nope, (d) => {
    const qd = k.let(q.at(t.mul(heads).add(h).mul(nope).add(d)), 'qd');
    const wrow = k.let(h.mul(nope + v).add(d), 'wrow');
    k.parallel(r, (c) => acc.set(c, acc.at(c).add(qd.mul(kvbAt(dtype, w, scales, wrow, c, r)))));
  });
  k.parallel(r, (c) => out.set(k.pid.mul(r).add(c), acc.at(c)));
  return k.build();
}

/** o[t,h,j] = Σ_c o_lat[t,h,c] · kv_b[h*(nope+v)+nope+j, c]  -> [T, H*v] */
export function absorbOutputKernel(dtype: WeightDType, nope: number, v: number, r: number): Kernel {
  const k = new KernelBuilder(`absorb_o_${dtype.toLowerCase()}_n${nope}v${v}r${r}`, 64);
  const o = k.buf('o', 'f32');
  const w = k.buf('w', weightElem(dtype));
  const scales = dtype === 'F8_E4M3' ? k.buf('w_scales', 'f32') : null;
  const out = k.buf('out', 'f32', true);
  const rows = k.scalar('rows');
  const heads = k.scalar('heads');
  k.programs(rows.mul(heads));
  k.work(rows, heads, i32(v * r));
  const t = k.let(k.pid.div(heads), 't');
  const h = k.let(k.pid.sub(t.mul(heads)), 'h');
  k.parallel(v, (j) => {
    const wrow = k.let(h.mul(nope + v).add(nope).add(j), 'wrow');
    const [dot] = k.reduce('sum', r, (c) => [o.at(k.pid.mul(r).add(c)).mul(kvbAt(dtype, w, scales, wrow, c, r))]);
    out.set(k.pid.mul(v).add(j), dot!);
  });
  return k.build();
}
