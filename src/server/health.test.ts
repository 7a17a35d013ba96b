import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { TesseraServer } from './server.js';
import type { TextModel } from '../text/index.js';

// An engine with requests waiting that never ran a step (a loop wedged before its first step) is
// as stuck as one that stopped stepping later.
test('/health turns 503 when requests wait and no step ever ran', async () => {
  const stats = { running: 0, waiting: 0, stepStartedAt: null, lastStepAt: null };
  const engine = { health: () => ({ ok: true }), stats: () => stats };
  const server = new TesseraServer({ host: '127.0.0.1', port: 0, healthStuckMs: 30 });
  server.setModel({ engine } as unknown as TextModel);
  await sleep(60);
  assert.equal(server.health().status, 200, 'idle: nothing pending');
  stats.waiting = 1;
  assert.equal(server.health().status, 503);
  assert.match(String(server.health().body['reason']), /requests are pending but no step ran/);
});
