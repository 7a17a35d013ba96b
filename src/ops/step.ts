// A forward step as ops see it: rows grouped into sequence slices over the paged KV cache.

/** Rows of one sequence in a step; slices are ordered prefill first, then decode. */
export interface SeqSlice {
  readonly rowStart: number;
  readonly rows: number;
  /** Position of the slice's first row = tokens of this sequence already in the cache. */
  readonly startPos: number;
  /** MLA: 'prefill' rows attend in the naive (decompressed) form, 'decode' rows in the absorbed form. */
  readonly mode: 'prefill' | 'decode';
  /** Cache block ids of the sequence, covering positions [0, startPos + rows). */
  readonly blockTable: Int32Array;
}

export interface StepInput {
  /** [T] token ids of all rows */
  readonly tokens: Int32Array;
  readonly seqs: readonly SeqSlice[];
  /** Rotary cos/sin for each row's position: [T, ropeDim/2] each. */
  readonly ropeCos: Float32Array;
  readonly ropeSin: Float32Array;
}

/** A step as uploaded to a backend: everything per-row the ops need (positions, slots, tables). */
export interface Step {
  readonly input: StepInput;
  readonly rows: number;
  /** Rows [0, prefillRows) belong to prefill slices, the rest to decode slices. */
  readonly prefillRows: number;
}
