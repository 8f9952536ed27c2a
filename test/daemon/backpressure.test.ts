/**
 * Backpressure both ways through a real daemon: a client that stops reading, and a server that
 * stops reading, each facing 96 MiB. The daemon's memory must not take up the difference, and
 * once the slow side reads again every message arrives, in order.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DaemonStatus } from '../../daemon/protocol.js';
import { fixture } from '../helpers/repo.js';
import { MiniSession, startDaemon, waitFor } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { residentKiB } from '../../daemon/supervisor/process-memory.js';

const MiB = 1024 * 1024;
const TOTAL = 96 * MiB;
const SIZE = 64 * 1024;
const COUNT = TOTAL / SIZE;
/** Far below TOTAL: what a daemon that buffered the backlog would have grown by. */
const ALLOWED_GROWTH = 40 * MiB;

/** The daemon's resident set in bytes (the same /proc reading as mcpd status). */
async function rss(pid: number): Promise<number> {
  const kib = residentKiB(pid);
  assert.ok(kib !== undefined, `no memory reading for pid ${pid}`);
  return kib * 1024;
}

/** Waits until `value` has not changed for a second: the pipes and buffers are as full as they get. */
async function settled(value: () => Promise<number>): Promise<void> {
  let last = -1;
  let since = Date.now();
  await waitFor(async () => {
    const now = await value();
    if (now !== last) [last, since] = [now, Date.now()];
    return Date.now() - since >= 1000;
  }, 'the flow to stall', 30_000);
}

describe('backpressure through the daemon', () => {
  let s: Sandbox;
  let daemonPid: number;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } });
    await startDaemon(s);
    daemonPid = (JSON.parse((await s.cli(['status', '--json'])).stdout) as DaemonStatus).pid;
  });
  after(() => s.cleanup());

  it('a client that stops reading: the server is held back, not buffered in the daemon', async () => {
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
    await session.initialize();
    const before = await rss(daemonPid);
    session.ws.pause();
    session.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'flood', method: 'tools/call', params: { name: 'flood', arguments: { count: COUNT, size: SIZE } } }));
    await settled(() => rss(daemonPid));
    const growth = (await rss(daemonPid)) - before;
    assert.ok(growth < ALLOWED_GROWTH, `the daemon grew by ${Math.round(growth / MiB)} MiB while the client read nothing`);
    session.ws.resume();
    for (let i = 0; i < COUNT; i++) {
      const message = await session.next();
      assert.equal(message.method, 'notifications/message');
      assert.ok(String((message as { params?: { data?: string } }).params?.data).startsWith(`${i}:`), `message ${i} in order`);
    }
    assert.equal((await session.next()).id, 'flood');
    await session.close();
  });

  it('a server that stops reading: the client is held back, not buffered in the daemon', async () => {
    const session = await MiniSession.open(s.env.MCPD_SOCKET!, 'mini');
    await session.initialize();
    const stall = await session.request('tools/call', { name: 'stall', arguments: { ms: 3000 } });
    assert.ok(stall.result);
    const before = await rss(daemonPid);
    const pad = 'p'.repeat(SIZE);
    for (let i = 0; i < COUNT; i++) session.ws.send(JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { pad } }));
    await settled(async () => session.ws.bufferedAmount);
    assert.ok(session.ws.bufferedAmount > TOTAL / 2, `most of the backlog waits in the client (${Math.round(session.ws.bufferedAmount / MiB)} MiB)`);
    const growth = (await rss(daemonPid)) - before;
    assert.ok(growth < ALLOWED_GROWTH, `the daemon grew by ${Math.round(growth / MiB)} MiB while the server read nothing`);
    for (let i = 0; i < COUNT; i++) assert.equal((await session.next()).id, i);
    await session.close();
  });
});
