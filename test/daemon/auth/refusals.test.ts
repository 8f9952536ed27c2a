/**
 * Bad credentials, refused cheaply and clearly: a malformed Authorization header, a token in
 * the query string (tokens go in headers only, and such a URL is never logged), 10,000 failed
 * attempts while a session goes on, listeners that always require a token, and a flood of bad
 * tokens that leaves a few counted lines in the audit and daemon logs instead of one each.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { fixture } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { MiniSession, rawRequest, startDaemon, waitFor } from '../../helpers/daemon.js';

const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };

/** One upgrade request with a bad token over a fresh connection (a socket path or a loopback port); resolves with the status line. */
function attempt(socket: string | number, n: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = typeof socket === 'number' ? connect(socket, '127.0.0.1') : connect(socket);
    let text = '';
    c.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; });
    c.on('end', () => resolve(text.split('\r\n')[0]!)).on('error', reject);
    c.write(`GET /v1/session/mini HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nAuthorization: Bearer mcpd_guess${n}\r\n\r\n`);
  });
}

describe('token refusals', () => {
  let s: Sandbox;
  let socket: string;
  let group: string;
  before(async () => {
    s = await sandbox();
    socket = s.env.MCPD_SOCKET!;
    group = join(s.dir, 'group.sock');
    await s.writeConfig({ mcpServers: { mini }, socket: { listen: [{ host: '127.0.0.1', port: 0 }, { path: group, group: 'root', mode: '660' }] } });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('a malformed Authorization header: 401 saying what is expected', async () => {
    for (const header of ['Basic dXNlcjpwdw==', 'Bearer', 'Bearer a b', `Bearer ${'x'.repeat(600)}`]) {
      const answer = await rawRequest(socket, '/v1/session/mini', true, { authorization: header });
      assert.equal(answer.status, 401, header);
      assert.equal(answer.body.error.code, 'TOKEN_INVALID');
      assert.equal(answer.body.error.message, 'the Authorization header is malformed: expected "Bearer TOKEN"');
    }
  });

  it('a token in the query string is refused, even a valid one, and the URL is not logged', async () => {
    const token = (await s.cli(['token', 'create', 'q', '--scope', 'launch:mini'])).stdout.trim();
    for (const query of [`?token=${token}`, `?access_token=${token}`, `?stderr=1&x=${token}`]) {
      const answer = await rawRequest(socket, `/v1/session/mini${query}`, true);
      assert.equal(answer.status, 401);
      assert.match(answer.body.error.message, /^a token was sent in the URL's query string; mcpd accepts tokens only in the Authorization header/);
      assert.ok(!JSON.stringify(answer.body).includes(token));
    }
    const state = join(s.env.XDG_STATE_HOME!, 'mcpd');
    for (const file of ['daemon.log', 'audit.log', 'daemon.stderr', 'tokens.json']) {
      assert.ok(!(await readFile(join(state, file), 'utf8')).includes(token), `${file} does not hold the token`);
    }
  });

  it('10,000 failed attempts: each refused with 401, and a session opened before answers throughout', async () => {
    const session = await MiniSession.open(socket, 'mini');
    await session.initialize();
    const statuses = new Map<string, number>();
    let next = 0;
    const worker = async () => {
      for (let n = next++; n < 10_000; n = next++) {
        const line = await attempt(socket, n);
        statuses.set(line, (statuses.get(line) ?? 0) + 1);
        if (n % 1000 === 0) assert.deepEqual((await session.request('ping')).result, {}, `the session answers after ${n} attempts`);
      }
    };
    await Promise.all(Array.from({ length: 20 }, worker));
    assert.deepEqual([...statuses], [['HTTP/1.1 401 Unauthorized', 10_000]]);
    assert.deepEqual((await session.request('tools/call', { name: 'pid' })).error, undefined);
    await session.close();
    assert.equal((await s.cli(['status'])).exitCode, 0);
  });

  it('extra listeners (a loopback port, a group socket) require a token even from the owner', async () => {
    const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    assert.equal(status.listeners.length, 2);
    assert.equal(status.listeners[1], `unix:${group}`);
    const info = await stat(group);
    assert.equal(info.mode & 0o777, 0o660, 'the group socket has its mode');
    assert.equal(info.gid, 0, 'and its group');
    const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(status.listeners[0]!)?.[1]);
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/session/mini`);
      ws.on('error', () => {}); // terminate() below reports the aborted handshake
      ws.once('unexpected-response', (_req, res) => { resolve(res.statusCode ?? 0); ws.terminate(); });
    });
    assert.equal(refused, 401);
    const onGroup = await rawRequest(group, '/v1/control', true);
    assert.equal(onGroup.status, 401);
    assert.equal(onGroup.body.error.code, 'TOKEN_REQUIRED');
    assert.match(onGroup.body.error.message, /^\/v1\/control needs a client token on this listener/);

    const token = (await s.cli(['token', 'create', 'container', '--scope', 'launch:mini'])).stdout.trim();
    const ws = new WebSocket(`ws://127.0.0.1:${port}/v1/session/mini`, { headers: { authorization: `Bearer ${token}` } });
    await once(ws, 'open');
    ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }));
    const [answer] = (await once(ws, 'message')) as [Buffer];
    assert.deepEqual(JSON.parse(answer.toString()), { jsonrpc: '2.0', id: 1, result: {} });
    ws.close();
    await waitFor(async () => JSON.parse((await s.cli(['sessions', '--json'])).stdout).length === 0, 'the session to close');
  });

  it('socket.requireToken: the owner-only socket refuses connections without a token too', async () => {
    const admin = (await s.cli(['token', 'create', 'owner', '--scope', 'admin'])).stdout.trim();
    await s.writeConfig({ mcpServers: { mini }, socket: { requireToken: true, listen: [{ host: '127.0.0.1', port: 0 }, { path: group, mode: '660' }] } });
    await waitFor(async () => (await rawRequest(socket, '/v1/control', true).catch(() => undefined))?.status === 401, 'the reload');
    const status = await s.cli(['status']);
    assert.equal(status.exitCode, 5);
    assert.match(status.stderr, /mcpd: \/v1\/control needs a client token on this listener/);
    assert.equal((await s.cli(['status'], { env: { MCPD_TOKEN: admin } })).exitCode, 0, 'admin holds every scope');
    assert.equal((await s.cli(['stop'], { env: { MCPD_TOKEN: admin } })).exitCode, 0);
  });
});

/** `count` attempts, 20 at a time; resolves with how many got each status line. */
async function flood(target: string | number, count: number): Promise<Array<[string, number]>> {
  const statuses = new Map<string, number>();
  let next = 0;
  const worker = async () => {
    for (let n = next++; n < count; n = next++) {
      const line = await attempt(target, n);
      statuses.set(line, (statuses.get(line) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: 20 }, worker));
  return [...statuses];
}

type Line = { event: string; listener?: string; peer?: string; count?: number; summary?: string; codes?: Record<string, number> };

describe('a flood of bad tokens', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini }, socket: { listen: [{ host: '127.0.0.1', port: 0 }] } });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('2,000 refusals on the socket and 500 on a loopback port: a few lines per peer in audit.log and daemon.log, the count exact', async () => {
    const socket = s.env.MCPD_SOCKET!;
    const tcp = (JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] }).listeners[0]!;
    const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(tcp)?.[1]);
    const started = Date.now();
    assert.deepEqual(await flood(socket, 2000), [['HTTP/1.1 401 Unauthorized', 2000]]);
    assert.deepEqual(await flood(port, 500), [['HTTP/1.1 401 Unauthorized', 500]]);
    // Stopping writes what is counted and not yet said.
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    const minutes = Math.ceil((Date.now() - started) / 60_000);

    const state = join(s.env.XDG_STATE_HOME!, 'mcpd');
    const read = async (file: string) => (await readFile(join(state, file), 'utf8')).trim().split('\n').map((l) => JSON.parse(l) as Line);
    const audit = (await read('audit.log')).filter((l) => l.event === 'token.refused');
    const log = (await read('daemon.log')).filter((l) => l.event === 'connection.refused');
    for (const [listener, peer, total] of [[`unix:${socket}`, 'unix', 2000], [tcp, '127.0.0.1', 500]] as const) {
      for (const [file, lines] of [['audit.log', audit], ['daemon.log', log]] as const) {
        const mine = lines.filter((l) => l.listener === listener);
        assert.ok(mine.length >= 2 && mine.length <= 1 + minutes + 1, `${file}: ${mine.length} lines for ${listener}: the first, then one a minute`);
        assert.ok(mine.every((l) => l.peer === peer), `${file}: the peer of ${listener} is ${peer}`);
        assert.equal(mine.reduce((sum, l) => sum + (l.count ?? 1), 0), total, `${file}: every refusal on ${listener} is counted`);
      }
      const last = log.filter((l) => l.listener === listener).at(-1)!;
      assert.match(last.summary!, new RegExp(`^\\d+ refused requests from ${peer.replaceAll('.', '\\.')} on ${listener.replaceAll('.', '\\.')} in the last \\d+s: TOKEN_INVALID×\\d+$`));
      assert.deepEqual(Object.keys(last.codes!), ['TOKEN_INVALID']);
    }
    for (const file of ['daemon.log', 'audit.log', 'daemon.stderr']) {
      assert.ok(!(await readFile(join(state, file), 'utf8')).includes('mcpd_guess'), `${file} holds no token presented`);
    }
    // mcpd start points the daemon's stderr at this file, which has no cap: daemon.log has the lines.
    assert.doesNotMatch(await readFile(join(state, 'daemon.stderr'), 'utf8'), /"event"/);
  });
});
