// The collectives a model split across processes needs, in the shape of MPI / NCCL: every rank
// calls the same collectives in the same order. One process is the communicator of size 1.
export interface Communicator {
  /** this process's rank in [0, size) */
  readonly rank: number;
  readonly size: number;
  /** which library carries it, for messages ("Open MPI 4.1.4") */
  readonly library: string;
  /** data ← Σ over ranks of every rank's data (in place; every rank gets the same sums) */
  allReduceSum(data: Float32Array): void;
  /** every rank's `local` (all of the same length), concatenated in rank order */
  allGather(local: Float32Array): Float32Array;
  /** `root`'s bytes on every rank (the others pass a buffer of the same length, overwritten) */
  broadcast(data: Uint8Array, root: number): void;
  close(): void;
}
