// A communicator that keeps the wall time its collectives take (waiting for the other ranks
// included): `tessera bench --tensor-parallel N` reports it per decoded token.
import type { Communicator } from '../ops/communicator.js';

export interface TimedCommunicator {
  readonly communicator: Communicator;
  /** milliseconds spent inside all-reduce / all-gather / broadcast since creation */
  readonly elapsedMs: () => number;
  /** how many collectives ran since creation */
  readonly calls: () => number;
}

export function timedCommunicator(inner: Communicator): TimedCommunicator {
  let ms = 0;
  let n = 0;
  const timed = <T>(f: () => T): T => {
    const t0 = performance.now();
    try {
      return f();
    } finally {
      ms += performance.now() - t0;
      n++;
    }
  };
  return {
    communicator: {
      rank: inner.rank,
      size: inner.size,
      library: inner.library,
      allReduceSum: (data) => timed(() => inner.allReduceSum(data)),
      allGather: (local) => timed(() => inner.allGather(local)),
      broadcast: (data, root) => timed(() => inner.broadcast(data, root)),
      close: () => inner.close(),
    },
    elapsedMs: () => ms,
    calls: () => n,
  };
}
