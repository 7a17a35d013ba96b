// `--tensor-parallel N [--expert-parallel]`: this process is one of N ranks started by
// `mpirun -np N`; the ranks split the model (src/models/tensor-shards.ts; routed experts whole per
// rank with --expert-parallel) and reduce partial sums over MPI. Only rank 0 prints.
import type { Communicator } from '../ops/communicator.js';
import { MpiError, mpirunSize, openMpi } from '../parallel/mpi.js';
import { UsageError } from './cli-error.js';
import { parsePositiveInt } from './common.js';
import { followTextModel } from '../text/index.js';
import type { TextModelOptions } from '../text/index.js';

export interface TensorParallelRun {
  readonly communicator: Communicator | undefined;
  /** what the model options take from the flags: the communicator, expert parallelism */
  readonly modelOptions: { readonly communicator?: Communicator; readonly expertParallel?: boolean };
  /** stdout for rank 0, nothing for the other ranks */
  readonly out: (s: string) => void;
  close(): void;
}

export interface ParallelFlagValues {
  readonly 'tensor-parallel'?: string | undefined;
  readonly 'expert-parallel'?: boolean | undefined;
}

export function tensorParallelFlag(values: ParallelFlagValues, out: (s: string) => void): TensorParallelRun {
  const value = values['tensor-parallel'];
  const n = value === undefined ? 1 : parsePositiveInt('tensor-parallel', value, 1);
  const ep = values['expert-parallel'] ?? false;
  if (n === 1 && ep) throw new UsageError('--expert-parallel splits the experts over the ranks of --tensor-parallel N: give N > 1');
  if (n === 1) return { communicator: undefined, modelOptions: {}, out, close: () => undefined };
  const started = mpirunSize();
  if (started === null) throw new UsageError(`--tensor-parallel ${n} runs as ${n} processes: start it with mpirun -np ${n} tessera ...`);
  if (started !== n) throw new UsageError(`--tensor-parallel ${n}, but mpirun started ${started} processes`);
  let comm: Communicator;
  try {
    comm = openMpi();
  } catch (e) {
    throw new UsageError(e instanceof MpiError ? e.message : String(e));
  }
  return { communicator: comm, modelOptions: { communicator: comm, ...(ep ? { expertParallel: true } : {}) }, out: comm.rank === 0 ? out : () => undefined, close: () => comm.close() };
}

/**
 * Ranks other than 0: follow rank 0's model calls until it stops, then leave MPI. Rank 0 decides
 * when the job ends (a SIGTERM there drains its requests, which need every rank), so the others
 * ignore SIGTERM / SIGINT while they follow.
 */
export async function followAndClose(dir: string, options: TextModelOptions, tp: TensorParallelRun): Promise<void> {
  const ignore = (): void => undefined;
  process.on('SIGTERM', ignore);
  process.on('SIGINT', ignore);
  try {
    await followTextModel(dir, { ...options, ...tp.modelOptions, communicator: tp.communicator! });
  } finally {
    process.off('SIGTERM', ignore);
    process.off('SIGINT', ignore);
    tp.close();
  }
}
