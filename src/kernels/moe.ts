// DeepSeekMoE on the device: routing, grouping the (token, slot) pairs by expert, expert GEMMs
// that read each chosen expert's weights once per step, and the weighted combination.
import { KernelBuilder, f32, i32, math, select } from '../dsl/builder.js';
import type { Val } from '../dsl/builder.js';
import type { Kernel } from '../dsl/ir.js';
import type { LinearMode, RoutingParams, WeightDType } from '../ops/tensors.js';
import { isQuantDType } from '../formats/dtype.js';
import { inputScales, inputTag, tileProduct } from './linear.js';
import { laneSteps, quantProduct } from './quant-product.js';
import type { LinearTile } from './linear.js';
import { weightElem } from './weight-decode.js';
import { int8Dot, int8Dot4, int8Inputs, isInt8DotDType } from './int8-linear.js';

export function routeName(e: number, p: RoutingParams, bias: boolean): string {
  return `route_e${e}_k${p.topk}_g${p.nGroup}x${p.topkGroup}_${p.scoring}_${p.groupScore}_${p.normalize ? 'n' : 'u'}${bias ? '_b' : ''}`;
}

/** One program per row: scores, biased choice, group limit, top-k (ascending ids), weights. */
export function routeKernel(e: number, p: RoutingParams, bias: boolean): Kernel {
  const k = new KernelBuilder(routeName(e, p, bias), 64);
  const logits = k.buf('logits', 'f32');
  const biasBuf = bias ? k.buf('bias', 'f32') : null;
  const experts = k.buf('experts', 'i32', true);
  const weights = k.buf('weights', 'f32', true);
  const rows = k.scalar('rows');
  const scaling = k.scalar('scaling', 'f32');
  const sc = k.local('sc', 'f32', e);
  const ch = k.local('ch', 'f32', e);
  const chosen = k.local('chosen', 'i32', p.topk);
  k.programs(rows);
  k.work(rows, i32(e * p.topk));
  const base = k.let(k.pid.mul(e), 'base');
  if (p.scoring === 'sigmoid') {
    k.parallel(e, (i) => sc.set(i, f32(1).div(math('exp', logits.at(base.add(i)).neg()).add(1))));
  } else {
    const [m] = k.reduce('max', e, (i) => [logits.at(base.add(i))]);
    const [sum] = k.reduce('sum', e, (i) => [math('exp', logits.at(base.add(i)).sub(m!))]);
    k.parallel(e, (i) => sc.set(i, math('exp', logits.at(base.add(i)).sub(m!)).div(sum!)));
  }
  k.parallel(e, (i) => ch.set(i, biasBuf ? sc.at(i).add(biasBuf.at(i)) : sc.at(i)));
  if (p.nGroup > 1) {
    const per = e / p.nGroup;
    const gs = k.local('gs', 'f32', p.nGroup);
    k.for(0, p.nGroup, (g) => {
      const best = k.var(f32(-Infinity), 'b1');
      const second = k.var(f32(-Infinity), 'b2');
      k.for(0, per, (j) => {
        const v = k.let(ch.at(g.mul(per).add(j)), 'v');
        k.if(v.gt(best), () => {
          second.set(best);
          best.set(v);
        }, () => k.if(v.gt(second), () => second.set(v)));
      });
      gs.set(g, p.groupScore === 'max' ? best : best.add(second));
    });
    const keep = k.local('keep', 'i32', p.nGroup);
    k.parallel(p.nGroup, (g) => keep.set(g, 0));
    k.for(0, p.topkGroup, () => {
      const arg = k.var(i32(-1), 'arg');
      const bestv = k.var(f32(-Infinity), 'bv');
      k.for(0, p.nGroup, (g) => k.if(keep.at(g).eq(0).and(arg.lt(0).or(gs.at(g).gt(bestv))), () => {
        arg.set(g);
        bestv.set(gs.at(g));
      }));
      keep.set(arg, 1);
    });
    k.parallel(e, (i) => k.if(keep.at(i.div(per)).eq(0), () => ch.set(i, f32(-Infinity))));
  }
  k.for(0, p.topk, (j) => {
    const arg = k.var(i32(0), 'arg');
    const bestv = k.var(f32(-Infinity), 'bv');
    k.for(0, e, (i) => k.if(ch.at(i).gt(bestv), () => {
      arg.set(i);
      bestv.set(ch.at(i));
    }));
    chosen.set(j, arg);
    ch.set(arg, f32(-Infinity));
  });
  // ascending expert ids: bubble sort of the topk (≤ 16) chosen ids
  k.for(0, p.topk, () =>
    k.for(0, p.topk - 1, (b) => {
      const lo = k.let(chosen.at(b), 'lo');
      const hi = k.let(chosen.at(b.add(1)), 'hi');
      k.if(lo.gt(hi), () => {
        chosen.set(b, hi);
        chosen.set(b.add(1), lo);
      });
    }),
  );
  const total = k.var(f32(0), 'total');
  k.for(0, p.topk, (j) => total.set(total.add(sc.at(chosen.at(j)))));
  k.for(0, p.topk, (j) => {
    experts.set(k.pid.mul(p.topk).add(j), chosen.at(j));
    const w = sc.at(chosen.at(j));
    weights.set(k.pid.mul(p.topk).add(j), (p.normalize ? w.div(total) : w).mul(scaling));
  });
  return k.build();
}

/**
 * Group the T·topk (token, slot) pairs by expert (stable): counts [E], offsets [E], order [T·topk]
 * holding pair indices t·topk + j, and the experts that got any pair, ascending: active [E + 1]
 * with their number last. One program.
 */
export function moeAlignKernel(): Kernel {
  const k = new KernelBuilder('moe_align', 64);
  const experts = k.buf('experts', 'i32');
  const counts = k.buf('counts', 'i32', true);
  const offsets = k.buf('offsets', 'i32', true);
  const order = k.buf('order', 'i32', true);
  const active = k.buf('active', 'i32', true);
  const pairs = k.scalar('pairs');
  const numExperts = k.scalar('num_experts');
  k.programs(1);
  k.for(0, numExperts, (e) => counts.set(e, 0));
  k.for(0, pairs, (i) => {
    const e = k.let(experts.at(i), 'e');
    counts.set(e, counts.at(e).add(1));
  });
  const run = k.var(i32(0), 'run');
  const used = k.var(i32(0), 'used');
  k.for(0, numExperts, (e) => {
    offsets.set(e, run);
    run.set(run.add(counts.at(e)));
    k.if(counts.at(e).gt(0), () => {
      active.set(used, e);
      used.set(used.add(1));
    });
  });
  active.set(numExperts, used);
  k.for(0, numExperts, (e) => counts.set(e, 0));
  k.for(0, pairs, (i) => {
    const e = k.let(experts.at(i), 'e');
    order.set(offsets.at(e).add(counts.at(e)), i);
    counts.set(e, counts.at(e).add(1));
  });
  return k.build();
}

export interface ExpertGemmSpec {
  readonly dtype: WeightDType;
  readonly mode: LinearMode;
  readonly tile: LinearTile;
  /** 'gate_up': h = silu(x·Wg) * (x·Wu); 'down': y = (h·Wd) * routing weight */
  readonly stage: 'gate_up' | 'down';
  /**
   * GPUs, GGUF block weights: one weight row per lane (tile.rows = the lanes) instead of
   * workgroup reductions, whose per-sub-block trees make huge shaders (a minute of lavapipe's
   * compile time per variant).
   */
  readonly lanes?: boolean;
  /** CPUs, 'ggml' mode: packed int8 activations into integer dot micro-kernels (int8-linear.ts) */
  readonly int8?: boolean;
}

export function expertGemmName(s: ExpertGemmSpec): string {
  return `moe_${s.stage}_${s.dtype.toLowerCase()}_${s.int8 ? 'i8' : inputTag(s.mode)}_r${s.tile.rows}t${s.tile.tokens}${s.lanes ? '_lanes' : ''}`;
}

/**
 * Programs: min(E, pairs) x ceil(N / rows), over the active experts only. Program (a, rb) walks the
 * pairs routed to the a-th active expert in tiles of `tokens` and computes `rows` output columns for
 * each, so each chosen expert's weights are read once per step. The lists hold experts
 * [e_lo, e_hi) (all of them, or one group where a device limits a list's size); programs whose
 * expert lies outside do nothing.
 * gate_up: x [T, K] (row = pair / topk), out h [pairs, N]; down: x = h [pairs, K], out y [pairs, N].
 */
export function expertGemmKernel(s: ExpertGemmSpec): Kernel {
  const { rows: R, tokens: TT } = s.tile;
  // One pair per expert (decode) is balanced work: contiguous runs of programs keep each thread's
  // weight stream sequential (and its prefetches its own). Larger tiles mean uneven experts.
  const k = new KernelBuilder(expertGemmName(s), s.lanes ? R : 64, TT === 1 ? 'static' : 'dynamic');
  const int8 = s.int8 && isInt8DotDType(s.dtype) ? s.dtype : null;
  if (int8) int8Inputs(k, int8);
  const x = int8 ? null : k.buf('x', 'f32');
  const { xScales, xSums } = int8 ? { xScales: null, xSums: null } : inputScales(k, s);
  const lists = (s.stage === 'gate_up' ? ['w_gate', 'w_up'] : ['w_down']).map((n) => k.list(n, weightElem(s.dtype)));
  const scaleLists = s.dtype === 'F8_E4M3' ? (s.stage === 'gate_up' ? ['s_gate', 's_up'] : ['s_down']).map((n) => k.list(n, 'f32')) : null;
  const counts = k.buf('counts', 'i32');
  const offsets = k.buf('offsets', 'i32');
  const order = k.buf('order', 'i32');
  const active = k.buf('active', 'i32');
  const routeWeights = s.stage === 'down' ? k.buf('route_weights', 'f32') : null;
  const out = k.buf('out', 'f32', true);
  const numExperts = k.scalar('num_experts');
  const eLo = k.scalar('e_lo');
  const eHi = k.scalar('e_hi');
  const topk = k.scalar('topk');
  const N = k.scalar('n');
  const K = k.scalar('k');
  const rblocks = k.let(N.add(R - 1).div(R), 'rblocks');
  const maxActive = k.scalar('max_active');
  k.programs(maxActive.mul(rblocks));
  k.work(maxActive, N, K, i32(TT));
  const slot = k.let(k.pid.div(rblocks), 'slot');
  const n0 = k.let(k.pid.sub(slot.mul(rblocks)).mul(R), 'n0');
  const chosen = k.let(select(slot.lt(active.at(numExperts)), active.at(slot.min(numExperts.sub(1))), i32(-1)), 'chosen');
  const live = k.let(chosen.ge(eLo).and(chosen.lt(eHi)), 'live');
  const e = k.let(select(live, chosen, eLo), 'e');
  const item = k.let(e.sub(eLo), 'item');
  const cnt = k.let(select(live, counts.at(e), i32(0)), 'cnt');
  const off = k.let(offsets.at(e), 'off');
  const kBlocks = K.add(127).div(128);
  /** The pairs of this program's expert in tiles of TT against weight rows (output columns) `cols`. */
  const tiles = (cols: Val[], product: (li: number, xRows: Val[]) => Val[][]) =>
    k.for(0, cnt.add(TT - 1).div(TT), (tile) => {
      const pairIdx = Array.from({ length: TT }, (_, j) => k.let(order.at(off.add(tile.mul(TT).add(j).min(cnt.sub(1)))), 'pair'));
      const xRows = pairIdx.map((p) => (s.stage === 'gate_up' ? k.let(p.div(topk), 'xr') : p));
      const products = lists.map((_, li) => product(li, xRows));
      for (let j = 0; j < TT; j++) {
        cols.forEach((col, i) => {
          const valid = tile.mul(TT).add(j).lt(cnt).and(col.lt(N));
          let value: Val;
          if (s.stage === 'gate_up') {
            const g = k.let(products[0]![j]![i]!, 'g');
            value = g.div(math('exp', g.neg()).add(1)).mul(products[1]![j]![i]!);
          } else {
            value = products[0]![j]![i]!.mul(routeWeights!.at(pairIdx[j]!));
          }
          k.if(valid, () => out.set(pairIdx[j]!.mul(N).add(col), value));
        });
      }
    });
  if (int8) {
    const cols = Array.from({ length: R }, (_, i) => n0.add(i));
    const wRows = cols.map((c) => k.let(c.min(N.sub(1)), 'wr'));
    // four pairs at a time into a local tile (one unpacking of each weight block), the rest one by one
    const acc = lists.map((_, li) => k.local(`acc${li}`, 'f32', TT * R));
    tiles(cols, (li, xRows) => {
      const w = { list: lists[li]!.name, item };
      wRows.forEach((wr, i) => {
        for (let q = 0; q + 4 <= TT; q += 4) int8Dot4(k, int8, w, wr, xRows.slice(q, q + 4), K, acc[li]!.name, i32(q * R + i), i32(R));
        for (let j = TT - (TT % 4); j < TT; j++) acc[li]!.set(j * R + i, int8Dot(int8, w, wr, xRows[j]!, K));
      });
      return xRows.map((_, j) => wRows.map((_, i) => acc[li]!.at(j * R + i)));
    });
    return k.build();
  }
  if (s.lanes) {
    // one weight row per lane, no workgroup reductions (see linear-lanes.ts)
    const dtype = s.dtype;
    if (!isQuantDType(dtype)) throw new Error(`expert lanes kernels take GGUF block weights, not ${dtype}`);
    k.parallel(N.sub(n0).min(R), (lane) => {
      const n = k.let(n0.add(lane), 'n');
      tiles([n], (li, xRows) => quantProduct(k, dtype, s.mode === 'ggml', { x: x!, xScales, xSums, w: (b) => lists[li]!.at(item, b), K }, xRows, [n], laneSteps(k)));
    });
    return k.build();
  }
  const wRows = Array.from({ length: R }, (_, i) => k.let(n0.add(i).min(N.sub(1)), 'wr'));
  tiles(
    wRows.map((_, i) => n0.add(i)),
    (li, xRows) =>
      tileProduct(
        k,
        s,
        { x: x!, xScales, xSums, w: (idx) => lists[li]!.at(item, idx), prefetch: (idx) => k.prefetch(lists[li]!, idx, item), wScale: scaleLists ? (n, kb) => scaleLists[li]!.at(item, n.div(128).mul(kBlocks).add(kb)) : null, K },
        xRows,
        wRows,
      ),
  );
  return k.build();
}

/**
 * y[t, :] = Σ_j y_pairs[t·topk + j, :] over the pairs whose expert lies in [e_lo, e_hi) (this
 * rank's experts; all of them without expert parallelism), j ascending.
 */
export function moeCombineKernel(): Kernel {
  const k = new KernelBuilder('moe_combine', 128);
  const pairs = k.buf('pairs', 'f32');
  const experts = k.buf('experts', 'i32');
  const y = k.buf('y', 'f32', true);
  const rows = k.scalar('rows');
  const cols = k.scalar('cols');
  const topk = k.scalar('topk');
  const eLo = k.scalar('e_lo');
  const eHi = k.scalar('e_hi');
  k.programs(rows);
  k.work(rows, cols, topk);
  k.parallel(cols, (c) => {
    const acc = k.var(f32(0), 'acc');
    k.for(0, topk, (j) => {
      const p = k.let(k.pid.mul(topk).add(j), 'p');
      const e = k.let(experts.at(p), 'e');
      k.if(e.ge(eLo).and(e.lt(eHi)), () => acc.set(acc.add(pairs.at(p.mul(cols).add(c)))));
    });
    y.set(k.pid.mul(cols).add(c), acc);
  });

  return k.build();
}
