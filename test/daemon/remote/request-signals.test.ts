/**
 * Every request of a transport shares its AbortSignal; through perRequestSignals, bursts of
 * them leave no pile of listeners on it (node warns past 1,500), and aborting it still stops a
 * stream being read. A real local server answers each POST with a short event stream, as a
 * Streamable HTTP server does, and holds one GET stream open.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { FetchLike } from '../../../daemon/remote/origin-fetch.js';
import { perRequestSignals } from '../../../daemon/remote/request-signals.js';

describe('perRequestSignals', () => {
  let server: Server;
  let url: string;
  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (req.method === 'GET') res.write('event: message\ndata: {}\n\n'); // held open
      else res.end('event: message\ndata: {}\n\n');
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** Bursts of POSTs sharing one signal, each stream read to its end; the warnings node gave meanwhile. */
  async function bursts(f: FetchLike): Promise<string[]> {
    const warnings: string[] = [];
    const onWarning = (w: Error) => warnings.push(w.message);
    process.on('warning', onWarning);
    const shared = new AbortController();
    try {
      for (let round = 0; round < 4; round++) {
        await Promise.all(Array.from({ length: 500 }, async () => {
          const response = await f(url, { method: 'POST', body: '{}', signal: shared.signal });
          await response.text();
        }));
      }
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
      shared.abort();
    }
    return warnings;
  }

  it('2,000 requests in bursts on one shared signal: no listener-leak warning', async () => {
    assert.deepEqual(await bursts(perRequestSignals(fetch)), []);
  });

  it('aborting the shared signal stops a stream being read', async () => {
    const shared = new AbortController();
    const response = await perRequestSignals(fetch)(url, { method: 'GET', signal: shared.signal });
    const reader = response.body!.getReader();
    await reader.read(); // the first event
    const pending = reader.read();
    shared.abort();
    await assert.rejects(pending, (e: unknown) => e instanceof Error && e.name === 'AbortError');
  });
});
