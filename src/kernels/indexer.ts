// DSA lightning indexer: ReLU-weighted FP8 scores of every (query row, cached key) and the causal
// top-k selection. Key positions are resolved to cache slots through the sequences' block tables.
import { KernelBuilder, f32, i32, intrin, select, u32 } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';

/** Keys scored by one program. */
export const INDEX_KEY_BLOCK = 64;

/** Cache slot of key position `s` of sequence `seq` (tables: [seqs, maxBlocks]). */
export function slotOf(tables: { at(i: Val): Val }, seq: Val, s: Val, blockSize: Val, maxBlocks: Val): Val {
  const blk = s.div(blockSize);
  return tables.at(seq.mul(maxBlocks).add(blk)).mul(blockSize).add(s.sub(blk.mul(blockSize)));
}

/**
 * scores[t, s] = kScale[s] · Σ_h relu(q8[t,h] · k8[s]) · (w[t,h] · wScale · qScale[t,h]) for s ≤ pos(t),
 * -inf beyond. Programs: rows × ceil(keys / 64).
 */
export function indexerScoresKernel(heads: number): Kernel {
  const k = new KernelBuilder(`indexer_scores_h${heads}`, 64, 'dynamic');
  const q = k.buf('q', 'f32');
  const qScales = k.buf('q_scales', 'f32');
  const w = k.buf('w', 'f32');
  const codes = k.buf('codes', 'u8');
  const kScales = k.buf('k_scales', 'f32');
  const rowSeq = k.buf('row_seq', 'i32');
  const rowPos = k.buf('row_pos', 'i32');
  const tables = k.buf('tables', 'i32');
  const scores = k.buf('scores', 'f32', true);
  const rows = k.scalar('rows');
  const keys = k.scalar('keys');
  const wScale = k.scalar('w_scale', 'f32');
  const blockSize = k.scalar('block_size');
  const maxBlocks = k.scalar('max_blocks');
  const hw = k.local('hw', 'f32', heads);
  const kblocks = k.let(keys.add(INDEX_KEY_BLOCK - 1).div(INDEX_KEY_BLOCK), 'kblocks');
  k.programs(rows.mul(kblocks));
  k.work(rows, keys, i32(heads * 128));
  const t = k.let(k.pid.div(kblocks), 't');
  const s0 = k.let(k.pid.sub(t.mul(kblocks)).mul(INDEX_KEY_BLOCK), 's0');
  const pos = k.let(rowPos.at(t), 'pos');
  const seq = k.let(rowSeq.at(t), 'seq');
  k.parallel(heads, (h) => hw.set(h, w.at(t.mul(heads).add(h)).mul(wScale).mul(qScales.at(t.mul(heads).add(h)))));
  k.parallel(keys.sub(s0).min(INDEX_KEY_BLOCK), (j) => {
    const s = k.let(s0.add(j), 's');
    const out = t.mul(keys).add(s);
    k.if(
      s.le(pos),
      () => {
        const slot = k.let(slotOf(tables, seq, s, blockSize, maxBlocks), 'slot');
        const total = k.var(f32(0), 'tot');
        // one pass over the key for all heads: each e4m3 code is decoded once, not once per head
        const dots = k.reduce('sum', 128, (d) => {
          const kd = k.let(intrin('e4m3_to_f32', codes.at(slot.mul(128).add(d))), 'kd');
          return Array.from({ length: heads }, (_, h) => q.at(t.mul(heads * 128).add(h * 128).add(d)).mul(kd));
        });
        dots.forEach((dot, h) => total.set(total.add(dot.max(0).mul(hw.at(h)))));
        scores.set(out, total.mul(kScales.at(slot)));
      },
      () => scores.set(out, f32(-Infinity)),
    );
  });
  return k.build();
}

/** Total order of f32 values as u32 (negative values bit-flipped). */
function orderKey(v: Val): Val {
  const u = v.bits('u32');
  return u.bxor(select(u.ge(u32(0x80000000)), u32(0xffffffff), u32(0x80000000)));
}

/**
 * Per row: the `topk` largest scores among positions 0..pos (ties: lower position first), written
 * in ascending position order; all positions when pos < topk; -1 padded.
 * The k-th largest key is found bit by bit from the top (32 counting passes), then one ordered pass.
 */
export function topkKernel(): Kernel {
  const k = new KernelBuilder('topk_select', 256);
  const scores = k.buf('scores', 'f32');
  const rowPos = k.buf('row_pos', 'i32');
  const sel = k.buf('sel', 'i32', true);
  const rows = k.scalar('rows');
  const keys = k.scalar('keys');
  const topk = k.scalar('topk');
  k.programs(rows);
  const n = k.let(rowPos.at(k.pid).add(1), 'n');
  k.work(rows, keys, i32(33));
  const base = k.let(k.pid.mul(keys), 'base');
  const out = k.let(k.pid.mul(topk), 'out');
  k.if(
    n.le(topk),
    () => k.parallel(topk, (i) => sel.set(out.add(i), select(i.lt(n), i, i32(-1)))),
    () => {
      const thr = k.var(u32(0), 'thr');
      for (let bit = 31; bit >= 0; bit--) {
        const cand = k.let(thr.bor(u32(2 ** bit)), 'cand');
        const [cnt] = k.reduce('sum', n, (s) => [select(orderKey(scores.at(base.add(s))).ge(cand), i32(1), i32(0))]);
        thr.set(select(cnt!.ge(topk), cand, thr));
      }
      const [greater] = k.reduce('sum', n, (s) => [select(orderKey(scores.at(base.add(s))).gt(thr), i32(1), i32(0))]);
      const need = k.let(topk.sub(greater!), 'need');
      const c = k.var(i32(0), 'c');
      const eq = k.var(i32(0), 'eq');
      k.for(0, n, (s) => {
        const key = k.let(orderKey(scores.at(base.add(s))), 'key');
        const isEq = k.let(key.eq(thr), 'is_eq');
        k.if(key.gt(thr).or(isEq.and(eq.lt(need))), () => {
          sel.set(out.add(c), s);
          c.set(c.add(1));
          k.if(isEq, () => eq.set(eq.add(1)));
        });
      });
    },
  );
  return k.build();
}
