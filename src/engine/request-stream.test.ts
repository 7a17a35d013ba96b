import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RequestStream } from './request-stream.js';

async function drain<T>(s: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of s) out.push(x);
  return out;
}

describe('RequestStream', () => {
  it('delivers buffered and later events in order, then ends', async () => {
    const s = new RequestStream<number>(() => assert.fail('not cancelled'));
    s.push(1);
    const all = drain(s);
    s.push(2);
    await Promise.resolve();
    s.push(3);
    s.end();
    s.push(4); // after end: ignored
    assert.deepEqual(await all, [1, 2, 3]);
  });

  it('throws a failure after the events buffered before it', async () => {
    const s = new RequestStream<number>(() => {});
    s.push(1);
    s.fail(new Error('boom'));
    const seen: number[] = [];
    await assert.rejects(async () => {
      for await (const x of s) seen.push(x);
    }, /boom/);
    assert.deepEqual(seen, [1]);
  });

  it('cancels when the reader leaves early, not after a normal end', async () => {
    let cancelled = 0;
    const s = new RequestStream<number>(() => cancelled++);
    s.push(1);
    s.push(2);
    for await (const x of s) if (x === 1) break;
    assert.equal(cancelled, 1);
    const t = new RequestStream<number>(() => cancelled++);
    t.push(1);
    t.end();
    await drain(t);
    assert.equal(cancelled, 1);
    assert.throws(() => t[Symbol.asyncIterator](), /only once/);
  });
});
