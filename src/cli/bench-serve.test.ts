import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { benchServe } from './bench-serve.js';

// A server that answers request n by n mod 3: a good stream of 3 tokens, a malformed event, or a
// connection cut mid-stream. Each broken response is one failed request; the run still reports.
test('bench serve counts broken responses as failed requests and measures the rest', async () => {
  let n = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const kind = n++ % 3;
      res.writeHead(200, { 'Content-Type': 'text/event-stream' });
      const event = (o: unknown) => res.write(`data: ${JSON.stringify(o)}\n\n`);
      if (kind === 0) {
        for (const text of ['a', 'b', 'c']) event({ choices: [{ text }] });
        event({ choices: [], usage: { prompt_tokens: 4, completion_tokens: 3 } });
        res.end('data: [DONE]\n\n');
      } else if (kind === 1) {
        res.end('data: {not json\n\n');
      } else {
        event({ choices: [{ text: 'a' }] });
        setImmediate(() => res.socket?.destroy());
      }
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await benchServe({ url, model: undefined, apiKey: undefined, inputLen: 4, outputLen: 3, concurrency: 2, requests: 9, seed: 0 });
    assert.equal(r.requests, 9);
    assert.equal(r.successful, 3);
    assert.equal(r.failed, 6);
    assert.equal(r.total_output_tokens, 9);
    assert.equal(r.total_input_tokens, 12);
    assert.ok(r.errors.some((e) => /JSON/.test(e)), r.errors.join('; '));
  } finally {
    server.close();
  }
});
