// The model runner's input builder: one scheduled step -> one ForwardInput.
//
// Each chunk is split at the prompt boundary: rows at positions < prompt length form a 'prefill'
// slice (naive attention), rows at positions >= prompt length a 'decode' slice (absorbed
// attention). Generated tokens thus always take the decode path, also when recomputed after a
// preemption, so a preempted request reproduces exactly the tokens it would have produced.
// Backends need every prefill slice before every decode slice, so rows are laid out in that order;
// a sequence with both kinds has two slices sharing one block table.
import type { SeqSlice } from '../ops/step.js';
import type { ForwardInput } from '../models/model.js';
import type { ScheduledChunk } from './scheduler.js';
import type { Sequence } from './sequence.js';

export interface ForwardBatch {
  readonly input: ForwardInput;
  /** the sequence of each logits row, in logitRows order (= chunk order) */
  readonly logitSeqs: readonly Sequence[];
}

interface Part {
  readonly chunk: ScheduledChunk;
  readonly start: number;
  readonly rows: number;
  readonly mode: 'prefill' | 'decode';
}

export function buildForwardBatch(chunks: readonly ScheduledChunk[]): ForwardBatch {
  const prefill: Part[] = [];
  const decode: Part[] = [];
  for (const chunk of chunks) {
    const { seq, startPos, numTokens } = chunk;
    const end = startPos + numTokens;
    if (numTokens < 1 || end > seq.numTokens) throw new RangeError(`chunk [${startPos}, ${end}) of sequence ${seq.id} is outside its ${seq.numTokens} known tokens`);
    const split = Math.min(Math.max(seq.promptLength, startPos), end);
    if (split > startPos) prefill.push({ chunk, start: startPos, rows: split - startPos, mode: 'prefill' });
    if (end > split) decode.push({ chunk, start: split, rows: end - split, mode: 'decode' });
  }

  const parts = [...prefill, ...decode];
  const total = parts.reduce((n, p) => n + p.rows, 0);
  const tokens = new Int32Array(total); // [T]
  const seqs: SeqSlice[] = [];
  const tables = new Map<Sequence, Int32Array>();
  /** row of each chunk's last token */
  const lastRow = new Map<ScheduledChunk, number>();
  let row = 0;
  for (const p of parts) {
    const seq = p.chunk.seq;
    let table = tables.get(seq);
    if (!table) tables.set(seq, (table = Int32Array.from(seq.blockTable)));
    for (let i = 0; i < p.rows; i++) tokens[row + i] = seq.tokenIds[p.start + i]!;
    seqs.push({ rowStart: row, rows: p.rows, startPos: p.start, mode: p.mode, blockTable: table });
    row += p.rows;
    if (p.start + p.rows === p.chunk.startPos + p.chunk.numTokens) lastRow.set(p.chunk, row - 1);
  }

  // Only a chunk that reaches the end of its sequence's known tokens samples; a prefill chunk
  // that stops short has no use for logits.
  const logitSeqs: Sequence[] = [];
  const logitRows: number[] = [];
  for (const chunk of chunks) {
    if (chunk.startPos + chunk.numTokens !== chunk.seq.numTokens) continue;
    logitSeqs.push(chunk.seq);
    logitRows.push(lastRow.get(chunk)!);
  }
  return { input: { tokens, seqs, logitRows: Int32Array.from(logitRows) }, logitSeqs };
}
