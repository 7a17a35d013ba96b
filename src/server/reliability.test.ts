// The reliability benchmarks (bench/soak.ts, bench/shutdown.ts) at CI scale, against real
// `tessera serve` processes on the embedded model: a short soak with client aborts, malformed
// requests and an over-subscribed KV cache; a disconnect freeing its blocks; SIGTERM during 32
// streams. docs/reliability.md has the long runs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { soak } from '../../bench/soak.js';
import { disconnectFreesBlocks, sigtermDuringStreams } from '../../bench/shutdown.js';
import { startServerProcess } from '../../test/helpers/server-process.js';

test('soak (8 s, 8 clients, 10 % aborts, 10 % malformed, 16-block KV cache): no 5xx, no failure, no leaked block', { timeout: 120_000 }, async () => {
  const server = await startServerProcess(['--device', 'cpu', '--kv-cache-tokens', '256', '--block-size', '16', '--max-num-seqs', '16']);
  try {
    const r = await soak({ url: server.url, pid: server.proc.pid!, seconds: 8, concurrency: 8, abortRate: 0.1, badRate: 0.1 });
    assert.equal(r.status5xx, 0);
    assert.deepEqual(r.failures, []);
    assert.ok(r.completed > 0 && r.requests > 20, `${r.requests} requests`);
    assert.equal(r.usedBlocksAfter, 0);
    assert.ok(r.healthyAfter);
  } finally {
    await server.stop('SIGKILL');
  }
});

test('a disconnect frees its blocks at the end of the step in flight; SIGTERM during 32 streams drains them all, 503 for new work, exit 0', { timeout: 120_000 }, async () => {
  const server = await startServerProcess(['--device', 'cpu', '--shutdown-timeout', '60', '--max-num-seqs', '32']);
  try {
    const d = await disconnectFreesBlocks(server.url);
    assert.ok(d.usedBlocksBefore > 0);
    // one step may be in flight at the disconnect, one more may start between the /metrics read and it
    assert.ok(d.stepsUntilFree <= 2, `${d.stepsUntilFree} steps`);
    const s = await sigtermDuringStreams(server, 32, 24);
    assert.equal(s.completed, 32);
    assert.deepEqual(s.finishReasons, { length: 32 });
    assert.equal(s.lateStatus, 503);
    assert.equal(s.exitCode, 0);
  } finally {
    await server.stop('SIGKILL');
  }
});
