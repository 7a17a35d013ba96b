// Test support: a model's log-softmax rows over a prompt (every position) and teacher-forced
// decode steps, the form llama.cpp's reference (llama-cpp-reference.ts) reports.
import type { Backend } from '../../src/ops/backend.js';
import type { ModelOptions } from '../../src/models/architecture.js';
import { openModel } from '../../src/models/open-model.js';
import { loadModel } from '../../src/models/registry.js';
import { SingleSequence } from '../../src/engine/single-sequence.js';

export function logSoftmax(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let sum = 0;
  for (const v of row) sum += Math.exp(v - max);
  const lse = max + Math.log(sum);
  return Float64Array.from(row, (v) => v - lse);
}

/** Log-probs of every prompt row, then of each decode step (its token fed after the previous). */
export async function tesseraLogProbs(path: string, backend: Backend, prompt: readonly number[], decode: readonly number[], options: ModelOptions = {}): Promise<Float64Array[]> {
  const d = openModel(path);
  const model = loadModel(d, backend, options);
  try {
    const V = model.info.vocabSize;
    const seq = new SingleSequence(model, { maxTokens: prompt.length + decode.length, blockSize: 16 });
    const p = await seq.prefill([...prompt]);
    const rows = prompt.map((_, i) => logSoftmax(p.subarray(i * V, (i + 1) * V)));
    for (const t of decode) rows.push(logSoftmax(await seq.decode(t)));
    return rows;
  } finally {
    model.dispose();
    d.close();
  }
}

export interface RowComparison {
  /** max |Δ log-prob| over rows and finite reference entries */
  readonly worst: number;
  /** rows whose greedy tokens differ although the reference's top-2 margin exceeds `margin` */
  readonly greedyMismatches: number[];
  /** rows with a clear margin (the greedy check applies) */
  readonly clearRows: number;
}

/** Compares log-prob rows; greedy tokens must agree where the reference's top-2 margin is over `margin`. */
export function compareRows(got: readonly Float64Array[], want: readonly Float64Array[], margin: number): RowComparison {
  if (got.length !== want.length) throw new Error(`${got.length} rows, the reference has ${want.length}`);
  let worst = 0;
  let clearRows = 0;
  const greedyMismatches: number[] = [];
  got.forEach((row, r) => {
    const w = want[r]!;
    let best = 0;
    let second = -Infinity;
    for (let i = 0; i < row.length; i++) {
      if (Number.isFinite(w[i]!)) worst = Math.max(worst, Math.abs(row[i]! - w[i]!));
      if (w[i]! > w[best]!) best = i;
    }
    for (let i = 0; i < w.length; i++) if (i !== best) second = Math.max(second, w[i]!);
    if (w[best]! - second <= margin) return;
    clearRows++;
    if (row.indexOf(Math.max(...row)) !== best) greedyMismatches.push(r);
  });
  return { worst, greedyMismatches, clearRows };
}
