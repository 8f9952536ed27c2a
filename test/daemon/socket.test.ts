/**
 * The socket, for real: modes, another user, one daemon per socket, a stale socket left by
 * kill -9, and every kind of bad request refused clearly while a healthy session goes on.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { chmod, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { dirname } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { WebSocket } from 'ws';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { MiniSession, rawRequest, startDaemon, waitFor } from '../helpers/daemon.js';

const mini = { command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_SECRET: 'plain-not-secret' } };

describe('the daemon socket', () => {
  let s: Sandbox;
  let socket: string;
  before(async () => {
    s = await sandbox();
    socket = s.env.MCPD_SOCKET!;
    await s.writeConfig({ mcpServers: { mini }, daemon: { maxMessageBytes: 4096 } });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('the socket is 0600 in a 0700 folder', async () => {
    assert.equal((await stat(socket)).mode & 0o777, 0o600);
    assert.equal((await stat(dirname(socket))).mode & 0o777, 0o700);
  });

  it('another user (nobody) cannot connect, even through an opened-up folder', async () => {
    await chmod(dirname(socket), 0o711);
    try {
      const probe = `require('net').connect(${JSON.stringify(socket)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
      const result = await execa('runuser', ['-u', 'nobody', '--', process.execPath, '-e', probe], { reject: false });
      assert.equal(result.stdout.trim(), 'EACCES', result.stderr);
    } finally {
      await chmod(dirname(socket), 0o700);
    }
  });

  it('a second daemon on the same socket exits 1 with a clear message, leaving the first serving', async () => {
    const second = await s.cli(['daemon']);
    assert.equal(second.exitCode, 1);
    assert.match(second.stderr, new RegExp(`mcpd: a daemon is already running on ${socket}\\n  hint: use it \\(mcpd status\\)`));
    assert.equal((await s.cli(['status'])).exitCode, 0);
  });

  it('unknown route, unknown server, not a WebSocket: HTTP refusals with a JSON error', async () => {
    const route = await rawRequest(socket, '/v1/nothing', true);
    assert.equal(route.status, 404);
    assert.equal(route.body.error.code, 'NOT_FOUND');
    assert.match(route.body.error.message, /no route GET \/v1\/nothing/);
    const server = await rawRequest(socket, '/v1/session/ghost', true);
    assert.equal(server.status, 404);
    assert.match(server.body.error.message, /no server named "ghost" in the daemon's config .*; known servers: mini/);
    // Names Object.prototype answers for: once a 500 (the prototype's function taken for a server).
    for (const name of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
      const inherited = await rawRequest(socket, `/v1/session/${name}`, true);
      assert.equal(inherited.status, 404, name);
      assert.equal(inherited.body.error.code, 'SERVER_UNKNOWN', name);
      assert.match(inherited.body.error.message, new RegExp(`^no server named "${name}" in the daemon's config .*; known servers: mini$`));
    }
    const badEscape = await rawRequest(socket, '/v1/session/%E0%A4%A', true);
    assert.equal(badEscape.status, 400, 'once a 500: decodeURIComponent threw');
    assert.equal(badEscape.body.error.message, 'the server name in /v1/session/%E0%A4%A is not valid percent-encoding');
    const plain = await rawRequest(socket, '/v1/session/mini', false);
    assert.equal(plain.status, 400);
    assert.match(plain.body.error.message, /served over WebSocket only/);
  });

  it('a control message that is JSON but not an object (null, 5, []) is an Invalid Request, not the end of the daemon', async () => {
    const ws = new WebSocket(`ws+unix://${socket}:/v1/control`);
    await once(ws, 'open');
    for (const text of ['null', '5', '[]', '"status"']) {
      ws.send(text);
      const [data] = (await once(ws, 'message')) as [Buffer];
      assert.deepEqual(JSON.parse(data.toString()), { jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: send one JSON-RPC request object per text message' } }, text);
    }
    ws.close();
    assert.equal((await s.cli(['status'])).exitCode, 0, 'the daemon still answers');
  });

  it('a frame the WebSocket layer rejects on a control connection closes that connection (1002), not the daemon', async () => {
    const ws = new WebSocket(`ws+unix://${socket}:/v1/control`);
    await once(ws, 'open');
    const closed = once(ws, 'close');
    ws.on('error', () => {}); // the client sees the close, with the daemon's code
    // A text frame with RSV2 set, written under the ws library: the fuzz run found it ended the daemon.
    (ws as unknown as { _socket: Socket })._socket.write(Buffer.from([0xa1, 0x80, 0, 0, 0, 0]));
    const [code] = (await closed) as [number];
    assert.equal(code, 1002);
    assert.equal((await s.cli(['status'])).exitCode, 0, 'the daemon still answers');
  });

  it('a session upgrade the WebSocket layer refuses after the server started (a malformed key) leaves no session or process behind', async () => {
    // The daemon starts the server before the upgrade, so that a server that cannot start is refused with a status;
    // ws then refused this handshake (400) and the session was never attached: the fuzz run found it running on.
    const answer = await new Promise<string>((resolve, reject) => {
      const raw = connect(socket);
      let text = '';
      raw.on('data', (chunk) => { text += chunk.toString('latin1'); }).on('close', () => resolve(text)).on('error', reject);
      raw.write('GET /v1/session/mini HTTP/1.1\r\nHost: localhost\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: x\r\n\r\n');
    });
    assert.match(answer, /^HTTP\/1\.1 400 /);
    await waitFor(async () => (JSON.parse((await s.cli(['sessions', '--json'])).stdout) as unknown[]).length === 0, 'the refused session to end');
  });

  it('a server that cannot start: 503 naming the reference, nothing left running', async () => {
    await s.writeConfig({ mcpServers: { mini, broken: { ...mini, env: { T: '${env:MCPD_NOT_SET_ANYWHERE}' } } }, daemon: { maxMessageBytes: 4096 } });
    await waitFor(async () => (await s.cli(['ls', '--json'])).stdout.includes('broken'), 'the reload');
    const refused = await rawRequest(socket, '/v1/session/broken', true);
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'ENV_UNSET');
    assert.match(refused.body.error.message, /mcpServers\.broken\.env\.T: environment variable MCPD_NOT_SET_ANYWHERE is not set/);
    const sessions = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as unknown[];
    assert.equal(sessions.length, 0);
  });

  it('malformed JSON, a binary frame, an oversized message: each refused clearly; a concurrent session is unharmed', async () => {
    const healthy = await MiniSession.open(socket, 'mini');
    await healthy.initialize();

    const malformed = await MiniSession.open(socket, 'mini');
    malformed.ws.send('{"jsonrpc": "2.0", "id": 1, "method": ');
    const parseError = await malformed.next();
    assert.deepEqual(parseError.error, { code: -32700, message: 'Parse error: mcpd received a message that is not JSON; it was not passed to the server' });
    await malformed.initialize(); // the session goes on
    await malformed.close();

    const binary = await MiniSession.open(socket, 'mini');
    binary.ws.send(Buffer.from('{"jsonrpc":"2.0"}'), { binary: true });
    const [code, reason] = await binary.closed;
    assert.equal(code, 1003);
    assert.match(reason, /binary messages are not accepted/);

    const oversized = await MiniSession.open(socket, 'mini');
    oversized.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(5000) } }));
    assert.equal((await oversized.closed)[0], 1009);

    const tooBigAnswer = await MiniSession.open(socket, 'mini');
    await tooBigAnswer.initialize();
    tooBigAnswer.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'big', arguments: { bytes: 8000 } } }));
    const [bigCode, bigReason] = await tooBigAnswer.closed;
    assert.equal(bigCode, 1011);
    assert.match(bigReason, /the server sent a message longer than 4096 bytes/);

    assert.deepEqual((await healthy.request('ping')).result, {});
    await healthy.close();
  });

  it('a stream session (&stream=1): says so in its 101, splits the lines of input cut anywhere, sends each answer with its newline, and closes once the input has ended and the answers are out', { timeout: 30_000 }, async () => {
    const ws = new WebSocket(`ws+unix://${socket}:/v1/session/mini?stream=1`);
    // 'open' follows 'upgrade' in the same turn: both are listened for before either is awaited.
    const upgraded = once(ws, 'upgrade') as Promise<[{ headers: Record<string, string> }]>;
    await once(ws, 'open');
    assert.equal((await upgraded)[0].headers['mcpd-stream'], '1');
    let text = '';
    ws.on('message', (data: Buffer, isBinary) => { if (!isBinary) text += data.toString(); });
    const closed = once(ws, 'close') as Promise<[number, Buffer]>;
    const input = [
      { jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', id: 'p', method: 'ping' },
    ].map((m) => `${JSON.stringify(m)}\n`).join('');
    const cuts = [0, 7, 80, 81, input.length - 3, input.length];
    for (let i = 0; i + 1 < cuts.length; i++) ws.send(Buffer.from(input.slice(cuts[i], cuts[i + 1])), { binary: true });
    ws.send(Buffer.alloc(0), { binary: true });
    const [code, reason] = await closed;
    assert.deepEqual([code, reason.toString()], [1000, 'stdin closed']);
    assert.ok(text.endsWith('\n'), 'the last answer came without its newline');
    const answers = text.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { id: unknown });
    assert.deepEqual(answers.map((a) => a.id), [0, 'p']);
  });

  it('mcpd run with a stdin line over daemon.maxMessageBytes: the answers before it arrive, then it exits 4 naming the limit and its setting', { timeout: 30_000 }, async () => {
    const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
    const long = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping', params: { pad: 'x'.repeat(5000) } });
    const run = await execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, reject: false, input: `${ping}\n${long}\n` });
    assert.equal(run.exitCode, 4, run.stderr);
    assert.match(run.stderr, /mcpd: session to "mini" closed: a message on stdin is longer than 4096 bytes \(daemon\.maxMessageBytes\)/);
    assert.deepEqual(run.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as unknown), [{ jsonrpc: '2.0', id: 1, result: {} }]);
  });

  it('kill -9 of the daemon under an open session: mcpd run exits 4 saying so; the next run starts a new daemon over the stale socket', async () => {
    const run = execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, reject: false, stdin: 'pipe' });
    run.stdin.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })}\n`);
    await waitFor(async () => JSON.parse((await s.cli(['sessions', '--json'])).stdout).length === 1, 'the session');
    const { pid } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number };
    process.kill(pid, 'SIGKILL');
    const result = await run;
    assert.equal(result.exitCode, 4, result.stderr);
    assert.match(result.stderr, new RegExp(`mcpd: the daemon on ${socket} went away during the session to "mini"`));
    assert.ok((await stat(socket)).isSocket(), 'the dead daemon left its socket file behind');

    const next = await execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, reject: false, input: `${JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'ping' })}\n` });
    assert.equal(next.exitCode, 0, next.stderr);
    assert.deepEqual(JSON.parse(next.stdout), { jsonrpc: '2.0', id: 7, result: {} });
    const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number };
    assert.notEqual(status.pid, pid, 'a new daemon');
  });

  it('--no-autostart with no daemon: exit 4 and what to do', async () => {
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    await writeFile(s.configPath, JSON.stringify({ mcpServers: { mini } }));
    const result = await s.cli(['run', '--no-autostart', 'mini']);
    assert.equal(result.exitCode, 4);
    assert.match(result.stderr, new RegExp(`mcpd: no mcpd daemon answers on ${socket}\\n  hint: start one with mcpd start`));
  });
});
