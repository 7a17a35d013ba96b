// DeepSeekMoE on a kernel backend: group the (token, expert) pairs by expert, run each chosen
// expert's SwiGLU once per step over its pairs, combine with the routing weights.
import type { ExpertWeights, LinearMode } from '../backend.js';
import type { DeviceBuffer, KernelArg } from './device.js';
import type { KRouting, KTensor } from './kernel-types.js';
import { asKW } from './kernel-types.js';
import { expertGemmKernel, expertGemmName, moeAlignKernel, moeCombineKernel } from '../../kernels/moe.js';
import type { ExpertGemmSpec } from '../../kernels/moe.js';
import { tileFor } from './kernel-ops.js';
import type { KernelOps } from './kernel-ops.js';

export function runMoe(ops: KernelOps, a: KTensor, r: KRouting, experts: readonly ExpertWeights[], mode: LinearMode, scaleFormat: 'ue8m0' | 'plain'): KTensor {
  const first = asKW(experts[0]!.gate);
  const dtype = first.dtype;
  const m: LinearMode = dtype === 'F8_E4M3' ? mode : 'plain';
  const [inner, hidden] = first.shape as [number, number];
  const E = experts.length;
  const pairs = r.rows * r.topk;
  const counts = ops.scratch(E * 4);
  const offsets = ops.scratch(E * 4);
  const order = ops.scratch(pairs * 4);
  const active = ops.scratch((E + 1) * 4);
  ops.run(ops.kernel('moe_align', moeAlignKernel), { experts: r.experts, counts, offsets, order, active, pairs, num_experts: E });
  const maxActive = Math.min(E, pairs);
  const lists = expertLists(experts);
  const tile = tileFor(Math.ceil(pairs / Math.min(E, pairs)));

  const gu: ExpertGemmSpec = { dtype, mode: m, tile, stage: 'gate_up' };
  const h = ops.tensor(pairs, inner);
  const guArgs: Record<string, KernelArg> = { w_gate: lists.gate, w_up: lists.up, counts, offsets, order, active, out: h.buf, num_experts: E, max_active: maxActive, topk: r.topk, n: inner, k: hidden };
  bindInput(ops, guArgs, a, m, scaleFormat);
  if (dtype === 'F8_E4M3') Object.assign(guArgs, { s_gate: lists.sGate, s_up: lists.sUp });
  ops.run(ops.kernel(expertGemmName(gu), () => expertGemmKernel(gu)), guArgs);

  const dn: ExpertGemmSpec = { dtype, mode: m, tile, stage: 'down' };
  const yPairs = ops.tensor(pairs, hidden);
  const dnArgs: Record<string, KernelArg> = { w_down: lists.down, counts, offsets, order, active, route_weights: r.weights, out: yPairs.buf, num_experts: E, max_active: maxActive, topk: r.topk, n: hidden, k: inner };
  bindInput(ops, dnArgs, h, m, scaleFormat);
  if (dtype === 'F8_E4M3') dnArgs['s_down'] = lists.sDown;
  ops.run(ops.kernel(expertGemmName(dn), () => expertGemmKernel(dn)), dnArgs);

  const y = ops.tensor(a.rows, hidden);
  ops.run(ops.kernel('moe_combine', moeCombineKernel), { pairs: yPairs.buf, y: y.buf, rows: a.rows, cols: hidden, topk: r.topk });
  return y;
}

function bindInput(ops: KernelOps, args: Record<string, KernelArg>, x: KTensor, mode: LinearMode, scaleFormat: 'ue8m0' | 'plain'): void {
  if (mode === 'fp8-act') {
    const q = ops.actQuant(x, scaleFormat);
    args['x'] = q.values.buf;
    args['x_scales'] = q.scales;
  } else args['x'] = x.buf;
}

type ExpertLists = Record<'gate' | 'up' | 'down' | 'sGate' | 'sUp' | 'sDown', DeviceBuffer[]>;
const listCache = new WeakMap<readonly ExpertWeights[], ExpertLists>();

/** The experts' buffers as lists (built once per layer; weights load on first use by the device). */
function expertLists(experts: readonly ExpertWeights[]): ExpertLists {
  let l = listCache.get(experts);
  if (!l) {
    const ws = experts.map((e) => ({ gate: asKW(e.gate), up: asKW(e.up), down: asKW(e.down) }));
    const fp8 = ws[0]!.gate.dtype === 'F8_E4M3';
    l = {
      gate: ws.map((e) => e.gate.buf),
      up: ws.map((e) => e.up.buf),
      down: ws.map((e) => e.down.buf),
      sGate: fp8 ? ws.map((e) => e.gate.scales) : [],
      sUp: fp8 ? ws.map((e) => e.up.scales) : [],
      sDown: fp8 ? ws.map((e) => e.down.scales) : [],
    };
    listCache.set(experts, l);
  }
  return l;
}

