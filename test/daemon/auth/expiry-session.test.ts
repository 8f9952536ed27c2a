/**
 * A daemon in this process, on a manual clock: when the token of an open session or control
 * connection (`logs -f`) expires, it is closed then (as a revoked token's is), without any
 * connection asking. A JWT's
 * WebSocket session ends when the jwt provider stops taking the token (`exp` plus its leeway);
 * an HTTP session opened with the same token does not, as each of its requests brings its own.
 */
import assert from 'node:assert/strict';
import { OWNER } from '../../../daemon/auth/scopes.js';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { after, before, it } from 'node:test';
import { WebSocket } from 'ws';
import { LEEWAY_S } from '../../../daemon/auth/providers/jwt.js';
import { Daemon } from '../../../daemon/daemon.js';
import { JwtIssuer } from '../../doubles/jwt-issuer.js';
import { fixture } from '../../helpers/repo.js';
import { ManualClock } from '../../helpers/manual-clock.js';
import { MiniSession, waitFor } from '../../helpers/daemon.js';
import { INITIALIZE, messagesOf, POST_HEADERS, send } from '../../helpers/mcp-http.js';

let dir: string;
let daemon: Daemon;
let issuer: JwtIssuer;
let port: number;
// From the real time on: the jwt provider verifies with jose on the system clock, the daemon's expiry reads this one.
const clock = new ManualClock(Date.now());

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcpd-exp-'));
  issuer = await JwtIssuer.start({ claims: { roles: ['user'] } });
  const configPath = join(dir, 'config.json');
  await writeFile(configPath, JSON.stringify({
    mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } },
    roles: { user: { grants: [{ server: 'mini' }] } },
    socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'jwt', issuer: issuer.issuer }] }] },
  }));
  const socket = join(dir, 's', 'mcpd.sock');
  daemon = await Daemon.start({
    configPath, binding: { kind: 'path', path: socket }, socketPath: socket, stateDir: join(dir, 'state'),
    env: { PATH: process.env.PATH }, log: () => {}, version: 'test', clock, watch: false,
  });
  port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(daemon.status().listeners[0]!)![1]);
});
after(async () => {
  await daemon.stop();
  await issuer.close();
  // A server's log may take its last line after stop() returns: rm retries a folder that filled meanwhile.
  await rm(dir, { recursive: true, force: true, maxRetries: 5 });
});

it('closes a session when its token expires', { timeout: 20_000 }, async () => {
  const { token } = await daemon.access.create('short', ['launch:mini'], '2h', OWNER);
  const session = await MiniSession.open(daemon.status().socket, 'mini', token);
  await session.initialize();
  clock.advance(3_600_000);
  assert.deepEqual((await session.request('ping')).result, {}, 'still valid after 1 h');
  clock.advance(3_600_000);
  const [code, reason] = await session.closed;
  assert.equal(code, 1008);
  assert.match(reason, /client token was revoked or has expired/);
  // The client hears of the close first; the daemon forgets the session once its server has shut down.
  await waitFor(async () => daemon.sessions().length === 0, 'the session to be dropped');
});

it('closes a log follower (a control connection) when its token expires', { timeout: 20_000 }, async () => {
  const { token } = await daemon.access.create('follower', ['logs:read'], '1h', OWNER);
  const follower = new WebSocket(`ws+unix://${daemon.status().socket}:/v1/control`, { headers: { authorization: `Bearer ${token}` } });
  await once(follower, 'open');
  follower.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'logs.tail', params: { name: 'mini', follow: true } }));
  await once(follower, 'message');
  const closed = once(follower, 'close') as Promise<[number, Buffer]>;
  clock.advance(3_600_000);
  const [code, reason] = await closed;
  assert.equal(code, 1008);
  assert.equal(reason.toString(), 'the connection\'s client token was revoked or has expired');
});

it('closes a JWT\'s WebSocket session once the provider would refuse the token (exp + the leeway), not its HTTP session', { timeout: 20_000 }, async () => {
  const endpoint = `http://127.0.0.1:${port}/mcp/mini`;
  // A minute ahead of the daemon's clock (which the test before moved on): jose, on the system clock, takes it throughout.
  const exp = Math.floor(clock.now() / 1000) + 60;
  const token = await issuer.mint(endpoint, { exp });
  const ws = await MiniSession.at(`ws://127.0.0.1:${port}/v1/session/mini`, token);
  await ws.initialize();
  const opened = await send({ port }, 'POST', '/mcp/mini', { ...POST_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
  assert.equal(opened.status, 200, opened.text);
  const id = String(opened.headers['mcp-session-id']);
  assert.equal(daemon.sessions().length, 2);

  clock.advance((exp + LEEWAY_S) * 1000 - 1 - clock.now());
  assert.deepEqual((await ws.request('ping')).result, {}, 'open until the last millisecond jose takes the token');
  clock.advance(1);
  const [code, reason] = await ws.closed;
  assert.equal(code, 1008);
  assert.equal(reason, 'the session\'s client token was revoked or has expired');
  await waitFor(async () => daemon.sessions().length === 1, 'the WebSocket session to be dropped');

  // The token is still good by the system clock: the HTTP session answers it, its server running on.
  const ping = await send({ port }, 'POST', '/mcp/mini', { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' }, { jsonrpc: '2.0', id: 2, method: 'ping' });
  assert.equal(ping.status, 200, ping.text);
  assert.deepEqual(messagesOf(ping).find((m) => m.id === 2)?.result, {});
  assert.equal(daemon.sessions().length, 1);
  await send({ port }, 'DELETE', '/mcp/mini', { authorization: `Bearer ${token}`, 'mcp-session-id': id });
});
