// Reference DeepSeekMoE router and expert mixture.
import type { ExpertWeights, LinearMode, RoutingParams } from '../../ops/tensors.js';
import { asRefWeight } from './ref-tensor.js';
import { refProduct } from './ref-product.js';

/** Indices of the k largest values (ties: lower index first). */
export function topkIndices(values: ArrayLike<number>, k: number): number[] {
  return Array.from({ length: values.length }, (_, i) => i)
    .sort((a, b) => (values[b]! > values[a]! ? 1 : values[b]! < values[a]! ? -1 : a - b))
    .slice(0, k);
}

/** A router row's scores [E] (sigmoid or softmax), the biased choice values [E] and the group ranking. */
export interface RouteScores {
  readonly scores: Float64Array;
  /** scores + correction bias, -inf outside the kept groups */
  readonly choice: Float64Array;
  /** per-group ranking score (empty without groups) */
  readonly groupScores: readonly number[];
}

/**
 * Scores are sigmoid or softmax; the correction bias only steers selection; groups are ranked by
 * the sum of their top-2 biased scores (noaux_tc) or their max (group_limited_greedy), and only
 * the best topk_group groups stay eligible.
 */
export function routeScores(logits: Float32Array, bias: Float32Array | null, p: RoutingParams): RouteScores {
  const e = logits.length;
  const scores = new Float64Array(e);
  if (p.scoring === 'sigmoid') {
    for (let i = 0; i < e; i++) scores[i] = Math.fround(1 / (1 + Math.exp(-logits[i]!)));
  } else {
    let max = -Infinity;
    for (const l of logits) max = Math.max(max, l);
    let sum = 0;
    for (let i = 0; i < e; i++) sum += Math.exp(logits[i]! - max);
    for (let i = 0; i < e; i++) scores[i] = Math.fround(Math.exp(logits[i]! - max) / sum);
  }
  const choice = new Float64Array(e);
  for (let i = 0; i < e; i++) choice[i] = bias ? Math.fround(scores[i]! + bias[i]!) : scores[i]!;
  let groupScores: number[] = [];
  if (p.nGroup > 1) {
    const per = e / p.nGroup;
    if (p.groupScore === 'top2-sum' && per < 2) throw new Error(`top-2 group scores need at least 2 experts per group, got ${per}`);
    groupScores = Array.from({ length: p.nGroup }, (_, g) => {
      const members = Array.from(choice.subarray(g * per, (g + 1) * per));
      if (p.groupScore === 'max') return Math.max(...members);
      const [a, b] = topkIndices(members, 2).map((i) => members[i]!);
      return a! + b!;
    });
    const kept = new Set(topkIndices(groupScores, p.topkGroup));
    for (let i = 0; i < e; i++) if (!kept.has(Math.floor(i / per))) choice[i] = -Infinity;
  }
  return { scores, choice, groupScores };
}

/** One row of router logits [E] -> chosen experts (ascending ids) and weights. */
export function routeRow(logits: Float32Array, bias: Float32Array | null, p: RoutingParams): { experts: number[]; weights: number[] } {
  const { scores, choice } = routeScores(logits, bias, p);
  const experts = topkIndices(choice, p.topk).sort((a, b) => a - b);
  let weights = experts.map((i) => scores[i]!);
  if (p.normalize) {
    const sum = weights.reduce((a, b) => a + b, 0);
    weights = weights.map((w) => w / sum);
  }
  return { experts, weights: weights.map((w) => Math.fround(w * p.scalingFactor)) };
}

function silu(x: number): number {
  return x / (1 + Math.exp(-x));
}

/** w2(silu(w1 x) * w3 x) for the given rows of x [T, hidden]. */
export function expertForward(
  x: Float32Array,
  rows: number,
  ew: ExpertWeights,
  mode: LinearMode,
  scaleFormat: 'ue8m0' | 'plain',
): Float32Array {
  const lin = (input: Float32Array, w: ExpertWeights['gate']) => refProduct(input, rows, asRefWeight(w), mode, scaleFormat);
  const g = lin(x, ew.gate);
  const u = lin(x, ew.up);
  const h = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) h[i] = silu(g[i]!) * u[i]!;
  return lin(h, ew.down);
}
