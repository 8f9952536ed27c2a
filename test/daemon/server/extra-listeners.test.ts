/**
 * ExtraListeners on real sockets: what a reload keeps, binds and closes, one update at a time.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { ExtraListeners } from '../../../daemon/server/extra-listeners.js';

const answers = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); }).on('error', () => resolve(false));
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const portOf = (name: string) => Number(/:(\d+)$/.exec(name)![1]);

describe('extra listeners', () => {
  const listeners = new ExtraListeners(() => createHttpServer());
  after(() => listeners.close());

  it('an entry equal to a bound one keeps it; a new one is bound; a removed one stops listening', async () => {
    assert.deepEqual(await listeners.update([{ host: '127.0.0.1', port: 0 }]), []);
    const [first] = listeners.names;
    const extra = await freePort();
    assert.deepEqual(await listeners.update([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: extra }]), []);
    assert.deepEqual(listeners.names, [first, `tcp:127.0.0.1:${extra}`], 'port 0 kept its port: not bound afresh');
    await listeners.update([{ host: '127.0.0.1', port: extra }]);
    assert.deepEqual(listeners.names, [`tcp:127.0.0.1:${extra}`]);
    assert.equal(await answers(portOf(first!)), false, 'the removed listener is closed');
    assert.equal(await answers(extra), true);
    await listeners.update([]);
    assert.equal(await answers(extra), false);
  });

  it('two updates at once are taken one after the other: the second keeps what the first bound', async () => {
    const port = await freePort();
    const spec = [{ host: '127.0.0.1', port }];
    const results = await Promise.all([listeners.update(spec), listeners.update(spec)]);
    assert.deepEqual(results, [[], []], 'neither met EADDRINUSE');
    assert.deepEqual(listeners.names, [`tcp:127.0.0.1:${port}`]);
    await listeners.update([]);
  });

  it('an entry that cannot be bound is reported by its index, and the others are bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as AddressInfo).port;
    try {
      const failures = await listeners.update([{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: busy }]);
      assert.deepEqual(failures.map((f) => [f.code, f.message, f.hint]), [['USAGE', 'socket.listen[1]: cannot listen there: EADDRINUSE', 'fix or remove that entry of socket.listen']]);
      assert.deepEqual(listeners.failures, ['socket.listen[1]: cannot listen there: EADDRINUSE']);
      assert.equal(listeners.names.length, 1);
    } finally {
      taken.close();
    }
    assert.deepEqual(await listeners.update([]), []);
    assert.deepEqual(listeners.failures, [], 'a later update clears what no longer fails');
  });

  it('start: the first failure is thrown and nothing stays bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as AddressInfo).port;
    const starting = new ExtraListeners(() => createHttpServer());
    const port = await freePort();
    try {
      await assert.rejects(starting.start([{ host: '127.0.0.1', port }, { host: '127.0.0.1', port: busy }]), {
        code: 'USAGE', message: 'socket.listen[1]: cannot listen there: EADDRINUSE',
      });
      assert.deepEqual(starting.names, []);
      assert.equal(await answers(port), false, 'the entry bound before the failure was closed');
    } finally {
      taken.close();
      await starting.close();
    }
  });
});
