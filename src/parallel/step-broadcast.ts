// Tensor-parallel serving: rank 0 runs the engine (scheduler, sampler, HTTP) on a model whose
// every call is first broadcast to the other ranks, which replay it on their own shard; the
// forward's all-reduces then meet in the same order on every rank. Messages are int32 words:
//   [kind=CACHE, id, numBlocks, blockSize]
//   [kind=FORWARD, cacheId, T, S, R, tokens[T], per slice (rowStart, rows, startPos, mode, n, table[n]), logitRows[R]]
//   [kind=STOP]
import type { Communicator } from '../ops/communicator.js';
import type { KvCache } from '../ops/kv-cache.js';
import type { SeqSlice } from '../ops/step.js';
import type { CausalLM, ForwardInput } from '../models/model.js';

const STOP = 0;
const CACHE = 1;
const FORWARD = 2;

function send(comm: Communicator, words: number[]): void {
  const data = new Uint8Array(Int32Array.from(words).buffer);
  comm.broadcast(new Uint8Array(Int32Array.of(data.byteLength).buffer), 0);
  comm.broadcast(data, 0);
}

function receive(comm: Communicator): Int32Array {
  const len = new Uint8Array(4);
  comm.broadcast(len, 0);
  const data = new Uint8Array(new Int32Array(len.buffer)[0]!);
  comm.broadcast(data, 0);
  return new Int32Array(data.buffer);
}

function encodeForward(cacheId: number, input: ForwardInput): number[] {
  const w = [FORWARD, cacheId, input.tokens.length, input.seqs.length, input.logitRows.length, ...input.tokens];
  for (const s of input.seqs) w.push(s.rowStart, s.rows, s.startPos, s.mode === 'prefill' ? 0 : 1, s.blockTable.length, ...s.blockTable);
  w.push(...input.logitRows);
  return w;
}

function decodeForward(m: Int32Array): { cacheId: number; input: ForwardInput } {
  const [, cacheId, T, S, R] = m as unknown as [number, number, number, number, number];
  let p = 5;
  const tokens = m.slice(p, p + T);
  p += T;
  const seqs: SeqSlice[] = [];
  for (let i = 0; i < S; i++) {
    const [rowStart, rows, startPos, mode, n] = [m[p]!, m[p + 1]!, m[p + 2]!, m[p + 3]!, m[p + 4]!];
    seqs.push({ rowStart, rows, startPos, mode: mode === 0 ? 'prefill' : 'decode', blockTable: m.slice(p + 5, p + 5 + n) });
    p += 5 + n;
  }
  return { cacheId, input: { tokens, seqs, logitRows: m.slice(p, p + R) } };
}

/** Rank 0's view of the model: each cache and forward is announced to the other ranks first. */
export function leaderModel(inner: CausalLM, comm: Communicator): CausalLM {
  const ids = new WeakMap<KvCache, number>();
  let next = 0;
  let stopped = false;
  return {
    info: inner.info,
    backend: inner.backend,
    createKvCache(numBlocks, blockSize) {
      const id = next++;
      send(comm, [CACHE, id, numBlocks, blockSize]);
      const cache = inner.createKvCache(numBlocks, blockSize);
      ids.set(cache, id);
      return cache;
    },
    forward(input, cache, trace) {
      const id = ids.get(cache);
      if (id === undefined) throw new Error('tensor parallel: a forward over a cache the other ranks never saw');
      send(comm, encodeForward(id, input));
      return inner.forward(input, cache, trace);
    },
    dispose() {
      if (!stopped) send(comm, [STOP]);
      stopped = true;
      inner.dispose();
    },
  };
}

/** The other ranks: replay rank 0's calls on this rank's shard until it stops. */
export async function followSteps(inner: CausalLM, comm: Communicator): Promise<void> {
  const caches = new Map<number, KvCache>();
  for (;;) {
    const m = receive(comm);
    if (m[0] === STOP) return;
    if (m[0] === CACHE) caches.set(m[1]!, inner.createKvCache(m[2]!, m[3]!));
    else if (m[0] === FORWARD) {
      const { cacheId, input } = decodeForward(m);
      const cache = caches.get(cacheId);
      if (!cache) throw new Error(`tensor parallel: rank 0 ran a forward over cache ${cacheId}, which it never announced`);
      await inner.forward(input, cache);
    } else throw new Error(`tensor parallel: unknown message ${m[0]} from rank 0`);
  }
}
