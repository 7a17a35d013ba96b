// DeepSeekMoE on a device backend: group the (token, expert) pairs by expert, run each chosen
// expert's SwiGLU once per step over its pairs, combine with the routing weights.
import type { ExpertShard, ExpertWeights, LinearMode } from '../../ops/tensors.js';
import type { DeviceBuffer } from './device.js';
import type { KRouting, KTensor } from './device-tensors.js';
import { asKW } from './device-tensors.js';
import { expertGemmKernel, expertGemmName, moeAlignKernel, moeCombineKernel } from '../../kernels/moe.js';
import type { ExpertGemmSpec } from '../../kernels/moe.js';
import { isQuantDType } from '../../formats/dtype.js';
import { LANE_ROWS } from '../../kernels/linear-lanes.js';
import { kernelMode, linearInput } from './linear-input.js';
import { int8Tile } from '../../kernels/int8-linear.js';
import type { Int8DotDType } from '../../kernels/int8-linear.js';
import type { DeviceOps } from './device-ops.js';
import { withArgs } from './device-ops.js';

export function runMoe(ops: DeviceOps, a: KTensor, r: KRouting, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat: 'ue8m0' | 'plain', shard: ExpertShard): KTensor {
  const first = asKW(experts[0]!.gate);
  const down = asKW(experts[0]!.down);
  // gate and up share a type; down may differ (llama-quantize's Q4_K_M keeps some ffn_down_exps in Q6_K)
  const dtype = first.dtype;
  const downType = down.dtype;
  if (asKW(experts[0]!.up).dtype !== dtype) throw new Error(`experts ${first.name}: gate is ${dtype} but up is ${asKW(experts[0]!.up).dtype}`);
  const [inner, hidden] = first.shape as [number, number];
  const E = shard.total;
  const pairs = r.rows * r.topk;
  const counts = ops.scratch(E * 4);
  const offsets = ops.scratch(E * 4);
  const order = ops.scratch(pairs * 4);
  const active = ops.scratch((E + 1) * 4);
  ops.run(ops.kernel('moe_align', moeAlignKernel), { experts: r.experts, counts, offsets, order, active, pairs, num_experts: E });
  const maxActive = Math.min(E, pairs); // the active list may hold every expert of the layer, ours or not
  const spec = (d: typeof dtype, name: string, stage: ExpertGemmSpec['stage']): ExpertGemmSpec => {
    const lanes = ops.laneExperts() && isQuantDType(d);
    const m = kernelMode(d, mode, name);
    const perExpert = Math.ceil(pairs / maxActive);
    if (ops.int8Dots(d, m)) return { dtype: d, mode: m, tile: int8Tile(perExpert), stage, int8: true };
    // the dense tile for gate/up too: 7 x 3 over both matrices (42 accumulators, some spilled)
    // prefilled 256 tokens of the dsv3 bench model at 518-554 tok/s, 3 x 3 at 462-497 (2026-12-04)
    const t = ops.tile(perExpert, d);
    return { dtype: d, mode: m, tile: lanes ? { rows: LANE_ROWS, tokens: t.tokens } : t, stage, lanes };
  };
  const gu = spec(dtype, first.name, 'gate_up');
  const dn = spec(downType, down.name, 'down');
  const h = ops.tensor(pairs, inner);
  const yPairs = ops.tensor(pairs, hidden);
  const common = { counts, offsets, order, active, num_experts: E, max_active: maxActive, topk: r.topk };
  const groups = expertGroups(experts, ops.maxListBytes());
  const input = (x: KTensor, s: ExpertGemmSpec, name: string) => (s.int8 ? ops.int8Input(x, s.dtype as Int8DotDType, name) : linearInput(ops, x, s.dtype, mode, scaleFormat, name));
  const guInput = input(a, gu, first.name);
  // every pair belongs to one group's expert: each group writes its own rows of h and yPairs
  for (const g of groups) {
    const guArgs = withArgs(withArgs({ e_lo: shard.first + g.lo, e_hi: shard.first + g.hi, w_gate: g.lists.gate, w_up: g.lists.up, out: h.buf, n: inner, k: hidden }, common), guInput);
    if (dtype === 'F8_E4M3') Object.assign(guArgs, { s_gate: g.lists.sGate, s_up: g.lists.sUp });
    ops.run(ops.kernel(expertGemmName(gu), () => expertGemmKernel(gu)), guArgs);
  }
  const dnInput = input(h, dn, down.name);
  for (const g of groups) {
    const dnArgs = withArgs(withArgs({ e_lo: shard.first + g.lo, e_hi: shard.first + g.hi, w_down: g.lists.down, route_weights: r.weights, out: yPairs.buf, n: hidden, k: inner }, common), dnInput);
    if (downType === 'F8_E4M3') dnArgs['s_down'] = g.lists.sDown;
    ops.run(ops.kernel(expertGemmName(dn), () => expertGemmKernel(dn)), dnArgs);
  }

  const y = ops.tensor(a.rows, hidden);
  ops.run(ops.kernel('moe_combine', moeCombineKernel), { pairs: yPairs.buf, experts: r.experts, y: y.buf, rows: a.rows, cols: hidden, topk: r.topk, e_lo: shard.first, e_hi: shard.first + experts.length });
  return y;
}

type ExpertLists = Record<'gate' | 'up' | 'down' | 'sGate' | 'sUp' | 'sDown', DeviceBuffer[]>;
interface ExpertGroup {
  /** experts [lo, hi) of the layer */
  readonly lo: number;
  readonly hi: number;
  readonly lists: ExpertLists;
}
const groupCache = new WeakMap<readonly ExpertWeights[], { limit: number; groups: ExpertGroup[] }>();

/**
 * The layer's experts as buffer lists, in as few groups of consecutive experts as keep every list
 * within `maxListBytes` packed (one group where the device has no limit). Built once per layer, so
 * a device that packs a list does it once; weights load on first use by the device.
 */
function expertGroups(experts: readonly ExpertWeights[], maxListBytes: number): ExpertGroup[] {
  const cached = groupCache.get(experts);
  if (cached && cached.limit === maxListBytes) return cached.groups;
  const ws = experts.map((e) => ({ gate: asKW(e.gate), up: asKW(e.up), down: asKW(e.down) }));
  const fp8 = ws[0]!.gate.dtype === 'F8_E4M3';
  const all: ExpertLists = {
    gate: ws.map((e) => e.gate.buf),
    up: ws.map((e) => e.up.buf),
    down: ws.map((e) => e.down.buf),
    sGate: fp8 ? ws.map((e) => e.gate.scales) : [],
    sUp: fp8 ? ws.map((e) => e.up.scales) : [],
    sDown: ws[0]!.down.dtype === 'F8_E4M3' ? ws.map((e) => e.down.scales) : [],
  };
  const itemBytes = Math.max(...Object.values(all).flat().map((b) => Math.ceil(b.bytes / 4) * 4));
  const perGroup = Math.min(experts.length, Math.floor(maxListBytes / itemBytes));
  if (perGroup === 0) throw new Error(`one expert's weights (${itemBytes} bytes) exceed this device's buffer-list limit (${maxListBytes} bytes)`);
  const groups: ExpertGroup[] = [];
  for (let lo = 0; lo < experts.length; lo += perGroup) {
    const hi = Math.min(experts.length, lo + perGroup);
    const slice = (l: DeviceBuffer[]) => l.slice(lo, hi);
    groups.push({ lo, hi, lists: { gate: slice(all.gate), up: slice(all.up), down: slice(all.down), sGate: slice(all.sGate), sUp: slice(all.sUp), sDown: slice(all.sDown) } });
  }
  groupCache.set(experts, { limit: maxListBytes, groups });
  return groups;
}
