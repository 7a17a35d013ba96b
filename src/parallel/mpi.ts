// An MPI communicator over Open MPI's libmpi (Debian's openmpi-bin / libopenmpi3), called through
// koffi: the process is started by `mpirun -np N`, which tells each process its rank. Open MPI's
// handles (MPI_COMM_WORLD, MPI_FLOAT, MPI_SUM, ...) are the addresses of its predefined objects.
import koffi from 'koffi';
import type { LibraryHandle } from 'koffi';
import type { Communicator } from '../ops/communicator.js';

export class MpiError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MpiError';
  }
}

const LIBRARY = 'libmpi.so.40';

interface MpiLib {
  readonly init: (argc: null, argv: null) => number;
  readonly initialized: (flag: number[]) => number;
  readonly rank: (comm: bigint, out: number[]) => number;
  readonly size: (comm: bigint, out: number[]) => number;
  readonly allreduce: (send: bigint, recv: Float32Array, count: number, type: bigint, op: bigint, comm: bigint) => number;
  readonly allgather: (send: Float32Array, sendCount: number, sendType: bigint, recv: Float32Array, recvCount: number, recvType: bigint, comm: bigint) => number;
  readonly bcast: (data: Uint8Array, count: number, type: bigint, root: number, comm: bigint) => number;
  readonly finalize: () => number;
  readonly world: bigint;
  readonly float: bigint;
  readonly byte: bigint;
  readonly sum: bigint;
  /** MPI_IN_PLACE */
  readonly inPlace: bigint;
  readonly version: string;
}

let lib: MpiLib | null = null;

function load(): MpiLib {
  if (lib) return lib;
  let h: LibraryHandle;
  try {
    h = koffi.load(LIBRARY, { global: true }); // global: Open MPI dlopens its own components
  } catch (e) {
    throw new MpiError(`${LIBRARY} not found (install Open MPI: apt-get install openmpi-bin): ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  const sym = (name: string): bigint => {
    try {
      return h.symbol(name) as bigint;
    } catch {
      throw new MpiError(`${LIBRARY} has no ${name}: only Open MPI's libmpi is supported`);
    }
  };
  const getVersion = h.func('int MPI_Get_library_version(_Out_ char *version, _Out_ int *len)');
  const buf = Buffer.alloc(256);
  const len = [0];
  getVersion(buf, len);
  lib = {
    init: h.func('int MPI_Init(void *argc, void *argv)'),
    initialized: h.func('int MPI_Initialized(_Out_ int *flag)'),
    rank: h.func('int MPI_Comm_rank(void *comm, _Out_ int *rank)'),
    size: h.func('int MPI_Comm_size(void *comm, _Out_ int *size)'),
    allreduce: h.func('int MPI_Allreduce(void *send, _Inout_ float *recv, int count, void *type, void *op, void *comm)'),
    allgather: h.func('int MPI_Allgather(const float *send, int sendCount, void *sendType, _Out_ float *recv, int recvCount, void *recvType, void *comm)'),
    bcast: h.func('int MPI_Bcast(_Inout_ uint8_t *data, int count, void *type, int root, void *comm)'),
    finalize: h.func('int MPI_Finalize()'),
    world: sym('ompi_mpi_comm_world'),
    float: sym('ompi_mpi_float'),
    byte: sym('ompi_mpi_byte'),
    sum: sym('ompi_mpi_op_sum'),
    inPlace: 1n, // Open MPI's MPI_IN_PLACE is ((void *) 1)
    version: buf.toString('latin1', 0, Math.max(0, len[0]!)).split(',')[0]!.trim(),
  };
  return lib;
}

function check(rc: number, what: string): void {
  if (rc !== 0) throw new MpiError(`${what} failed with MPI error ${rc}`);
}

/** The ranks `mpirun` started, as told by its environment, or null outside mpirun. */
export function mpirunSize(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env['OMPI_COMM_WORLD_SIZE'] ?? env['PMIX_SIZE'];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : null;
}

/** MPI_COMM_WORLD of a process started by mpirun (MPI_Init on first use). */
export function openMpi(): Communicator {
  const m = load();
  const flag = [0];
  check(m.initialized(flag), 'MPI_Initialized');
  if (!flag[0]) check(m.init(null, null), 'MPI_Init');
  const rank = [0];
  const size = [0];
  check(m.rank(m.world, rank), 'MPI_Comm_rank');
  check(m.size(m.world, size), 'MPI_Comm_size');
  let closed = false;
  return {
    rank: rank[0]!,
    size: size[0]!,
    library: m.version,
    allReduceSum(data) {
      check(m.allreduce(m.inPlace, data, data.length, m.float, m.sum, m.world), 'MPI_Allreduce');
    },
    allGather(local) {
      const out = new Float32Array(local.length * size[0]!);
      check(m.allgather(local, local.length, m.float, out, local.length, m.float, m.world), 'MPI_Allgather');
      return out;
    },
    broadcast(data, root) {
      check(m.bcast(data, data.length, m.byte, root, m.world), 'MPI_Bcast');
    },
    close() {
      if (closed) return;
      closed = true;
      check(m.finalize(), 'MPI_Finalize');
    },
  };
}
