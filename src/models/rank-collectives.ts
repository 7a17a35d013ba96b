// The two collectives a tensor-parallel forward pass needs, shared by the architectures: the sum
// of every rank's partial output (a matrix split by columns) and the gather of a vocabulary split
// LM head's logits. Both are no-ops for one process.
import type { Backend } from '../ops/backend.js';
import type { Communicator } from '../ops/communicator.js';
import type { Tensor } from '../ops/tensors.js';

/** x [rows, cols] summed over the ranks (every rank gets the sum); x itself without a communicator. */
export async function sumOverRanks(backend: Backend, comm: Communicator | undefined, x: Tensor): Promise<Tensor> {
  if (!comm || comm.size === 1) return x;
  const [rows, cols] = x.shape as [number, number];
  const data = await backend.read(x);
  comm.allReduceSum(data);
  return backend.fromHost(data, rows, cols);
}

/**
 * Logits of an LM head split by rows into `shards` vocabulary blocks, one per rank: this rank's
 * [rows, vocab / shards] -> every rank's, as [rows, vocab].
 */
export function gatherVocab(comm: Communicator | undefined, shards: number, local: Float32Array, rows: number): Float32Array {
  if (!comm || shards === 1) return local;
  const all = comm.allGather(local); // [shards][rows, vocab / shards]
  const part = local.length / rows;
  const out = new Float32Array(all.length);
  for (let s = 0; s < shards; s++) for (let r = 0; r < rows; r++) out.set(all.subarray(s * local.length + r * part, s * local.length + (r + 1) * part), r * part * shards + s * part);
  return out;
}
