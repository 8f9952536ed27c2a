/**
 * Backpressure both ways between a server and HTTP clients, through a real daemon:
 *
 * - while the server reads nothing (mini-mcp's `stall`), requests to its `/mcp/NAME` session
 *   wait unread, their bodies left in their connections, so the daemon's memory does not take
 *   up a 48 MiB backlog; once the server reads again every request is answered;
 * - while a client reads nothing of its SSE stream, the server's output waits (mini-mcp's
 *   `flood` writes 48 MiB of notifications), so the daemon does not queue them; once the client
 *   reads, every notification and the answer arrive.
 */
import assert from 'node:assert/strict';
import { Agent, type IncomingMessage, request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { DaemonStatus } from '../../../daemon/protocol.js';
import { fixture } from '../../helpers/repo.js';
import { startDaemon, waitFor } from '../../helpers/daemon.js';
import { INITIALIZE, messagesOf, POST_HEADERS, send } from '../../helpers/mcp-http.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { residentKiB } from '../../../daemon/supervisor/process-memory.js';

const MiB = 1024 * 1024;
/** Few connections, large bodies: an HTTP server reads a first chunk of every connection whatever it does next. */
const SIZE = 2 * MiB;
const COUNT = 24;
/** Far below the 48 MiB sent (a daemon that reads it all grows by over 100 MiB); 14 MiB measured. */
const ALLOWED_GROWTH = 32 * MiB;

/** The daemon's resident set in bytes (the same /proc reading as mcpd status). */
async function rss(pid: number): Promise<number> {
  const kib = residentKiB(pid);
  assert.ok(kib !== undefined, `no memory reading for pid ${pid}`);
  return kib * 1024;
}

describe('backpressure through the HTTP gateway', () => {
  let s: Sandbox;
  let daemonPid: number;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } });
    await startDaemon(s);
    daemonPid = (JSON.parse((await s.cli(['status', '--json'])).stdout) as DaemonStatus).pid;
  });
  after(() => s.cleanup());

  it('a server that stops reading: requests wait unread, not buffered in the daemon, and are all answered after', async () => {
    const unix = { socketPath: s.env.MCPD_SOCKET! };
    const init = await send(unix, 'POST', '/mcp/mini', POST_HEADERS, INITIALIZE);
    const headers = { ...POST_HEADERS, 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-11-25' };
    await send(unix, 'POST', '/mcp/mini', headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    const stall = await send(unix, 'POST', '/mcp/mini', headers, { jsonrpc: '2.0', id: 'stall', method: 'tools/call', params: { name: 'stall', arguments: { ms: 4000 } } });
    assert.ok(messagesOf(stall).some((m) => m.id === 'stall' && m.result), stall.text);
    const before = await rss(daemonPid);
    const pad = 'p'.repeat(SIZE);
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    let answered = 0;
    const pings = Array.from({ length: COUNT }, (_, i) => new Promise<string>((resolve, reject) => {
      const text = JSON.stringify({ jsonrpc: '2.0', id: i, method: 'ping', params: { pad } });
      const req = request({ ...unix, agent, method: 'POST', path: '/mcp/mini', headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) } }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => { answered++; resolve(body); });
      });
      req.on('error', reject).end(text);
    }));
    // The first requests fill the server's stdin; the rest wait. Sample while the server still stalls.
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const growth = (await rss(daemonPid)) - before;
    assert.ok(answered < COUNT / 2, `${answered} of ${COUNT} were answered while the server read nothing`);
    assert.ok(growth < ALLOWED_GROWTH, `the daemon grew by ${Math.round(growth / MiB)} MiB while the server read nothing`);
    const bodies = await Promise.all(pings);
    for (const [i, body] of bodies.entries()) assert.match(body, new RegExp(`"id":${i}[,}]`), `ping ${i} answered`);
    await waitFor(() => Promise.resolve(answered === COUNT), 'every ping to be answered');
    agent.destroy();
  });

  it('a client that stops reading its SSE stream: the server\'s output waits, not buffered in the daemon, and all of it arrives after', async () => {
    const unix = { socketPath: s.env.MCPD_SOCKET! };
    const init = await send(unix, 'POST', '/mcp/mini', POST_HEADERS, INITIALIZE);
    const headers = { ...POST_HEADERS, 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-11-25' };
    await send(unix, 'POST', '/mcp/mini', headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    const before = await rss(daemonPid);
    const text = JSON.stringify({ jsonrpc: '2.0', id: 'flood', method: 'tools/call', params: { name: 'flood', arguments: { count: COUNT, size: SIZE } } });
    const req = request({ ...unix, agent: false, method: 'POST', path: '/mcp/mini', headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) } });
    req.end(text);
    const [res] = (await new Promise((resolve, reject) => req.once('response', (r) => resolve([r])).once('error', reject))) as [IncomingMessage];
    // Nothing read: what the daemon does not write waits in the server's pipe, or in the daemon.
    res.pause();
    await new Promise((resolve) => setTimeout(resolve, 2500));
    const growth = (await rss(daemonPid)) - before;
    assert.ok(growth < ALLOWED_GROWTH, `the daemon grew by ${Math.round(growth / MiB)} MiB while its client read nothing`);
    let body = '';
    res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
    res.resume();
    await new Promise((resolve) => res.once('end', resolve));
    const notes = body.split('\n').filter((line) => line.startsWith('data: {') && line.includes('"method":"notifications/message"'));
    assert.equal(notes.length, COUNT, 'every notification arrived');
    assert.match(body, new RegExp(`"id":"flood"[^\\n]*"flooded ${COUNT}"|"flooded ${COUNT}"[^\\n]*"id":"flood"`), 'and then the answer');
  });
});
