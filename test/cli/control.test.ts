/**
 * The control verbs against a real daemon: status, ls, sessions, restart, reload, logs, stop;
 * and what a session sees when its server is restarted, crashes, or its definition changes.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { DaemonStatus, ServerStatus } from '../../daemon/protocol.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { MiniSession, startDaemon, waitFor } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const secret = 'control-test-secret-8c1f0e';
const mini = (extra: object = {}) => ({ command: process.execPath, args: [fixture('mini-mcp.js')], env: { MINI_SECRET: '${local:mini/secret}' }, ...extra });
const config = (servers: object) => ({
  mcpServers: servers,
  providers: { local: { type: 'local', key: 'file' } },
  daemon: { restart: { initialDelay: '100ms', maxDelay: '200ms', stableAfter: '30s', maxRestarts: 2 } },
});

async function toolText(session: MiniSession, name: string, args: object = {}): Promise<string> {
  const answer = await session.request('tools/call', { name, arguments: args });
  assert.ok(answer.result, `${name}: ${JSON.stringify(answer.error)}`);
  return (answer.result.content as Array<{ text: string }>)[0]!.text;
}

describe('control verbs', () => {
  let s: Sandbox;
  let socket: string;
  const status = async () => JSON.parse((await s.cli(['status', '--json'])).stdout) as DaemonStatus;
  const server = async (name: string) => (await status()).servers.find((x) => x.name === name) as ServerStatus;

  before(async () => {
    s = await sandbox();
    socket = s.env.MCPD_SOCKET!;
    await s.writeConfig(config({ a: mini(), b: mini() }));
    assert.equal((await s.cli(['secret', 'set', 'local:mini/secret'], { input: secret })).exitCode, 0);
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('status shows each server\'s state, sessions, pid, uptime, restarts and references, never a value', async () => {
    const session = await MiniSession.open(socket, 'a');
    await session.initialize();
    const a = await server('a');
    assert.equal(a.state, 'running');
    assert.equal(a.sessions, 1);
    assert.deepEqual(a.refs, ['${local:mini/secret}']);
    assert.equal(typeof a.instances[0]!.pid, 'number');
    assert.equal((await server('b')).state, 'stopped');
    const text = await s.cli(['status']);
    assert.match(text.stdout, /^a: running, 1 session, 0 restarts\n {2}session [0-9a-f]{8}: running, pid \d+, up \d+s\n {2}uses \$\{local:mini\/secret\}$/m);
    assert.match(text.stdout, /^b: stopped, 0 sessions/m);
    const ls = await s.cli(['ls']);
    assert.match(ls.stdout, /^a\trunning\t1\t/m);
    const sessions = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ id: string; server: string; pid: number; subject: string; roles: string[] }>;
    assert.deepEqual(sessions.map((x) => [x.server, x.subject, x.roles]), [['a', 'owner', []]]);
    const table = await s.cli(['sessions']);
    assert.equal(table.stdout, `${sessions[0]!.id}\ta\trunning\t${sessions[0]!.pid}\t${/\t(\d+s)\t/.exec(table.stdout)?.[1]}\towner\t\n`);
    for (const out of [text.stdout, ls.stdout, table.stdout, JSON.stringify(sessions), JSON.stringify(await status())]) assert.ok(!out.includes(secret));
    await session.close();
  });

  it('restart: a new process under the same session, which goes on without a new initialize', async () => {
    const session = await MiniSession.open(socket, 'a');
    await session.initialize();
    const before = await toolText(session, 'pid');
    const restarted = await s.cli(['restart', 'a']);
    assert.equal(restarted.stdout, 'restarted a in 1 session\n');
    const after = await toolText(session, 'pid');
    assert.notEqual(after, before);
    assert.equal((await server('a')).restarts, 1);
    await session.close();
  });

  it('a crash loop: in-flight requests get errors, restarts wait the backoff, then the server is failed; the daemon lives on', async () => {
    const session = await MiniSession.open(socket, 'a');
    await session.initialize();
    const crashAndTime = async () => {
      const crash = await session.request('tools/call', { name: 'crash', arguments: {} });
      const started = Date.now();
      const pid = await toolText(session, 'pid'); // held until the server is back
      return { crash, pid, waited: Date.now() - started };
    };
    const first = await crashAndTime();
    assert.equal(first.crash.error?.code, -32603);
    assert.match(first.crash.error!.message, /server "a" exited \(status 3\) while handling this request; mcpd is restarting it/);
    assert.ok(first.waited >= 90, `first restart after the 100 ms backoff (${first.waited} ms)`);
    const second = await crashAndTime();
    assert.ok(second.waited >= 190, `second restart after the doubled backoff (${second.waited} ms)`);
    assert.notEqual(second.pid, first.pid);
    await session.request('tools/call', { name: 'crash', arguments: {} });
    const [code, reason] = await session.closed;
    assert.equal(code, 4003, 'closed with 4000 + the exit status');
    assert.match(reason, /it crashed 3 times without running 30 s/);
    const a = await server('a');
    assert.equal(a.state, 'failed');
    assert.match(a.lastError ?? '', /crashed 3 times/);
    assert.equal((await s.cli(['status'])).exitCode, 0, 'the daemon is alive');
  });

  it('logs: the server\'s stderr, masked', async () => {
    const session = await MiniSession.open(socket, 'b');
    await session.initialize();
    await toolText(session, 'leak');
    await waitFor(async () => (await s.cli(['logs', 'b'])).stdout.includes('the secret is'), 'the log line');
    const logs = await s.cli(['logs', 'b']);
    assert.match(logs.stdout, /\[[0-9a-f]{8}\] the secret is \*\*\*\*$/m);
    const file = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'logs', 'b.log'), 'utf8');
    assert.match(file, /the secret is \*\*\*\*/);
    for (const text of [logs.stdout, file, await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log'), 'utf8')]) assert.ok(!text.includes(secret));
    await session.close();
  });

  it('mcpd run streams the server\'s masked stderr to its own stderr', async () => {
    const input = [
      { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'leak', arguments: {} } },
    ].map((m) => `${JSON.stringify(m)}\n`).join('');
    const run = await execa(process.execPath, [cliMain, 'run', 'b'], { env: s.env, extendEnv: false, input, reject: false });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.match(run.stderr, /the secret is \*\*\*\*/);
    assert.ok(!run.stderr.includes(secret) && !run.stdout.includes(secret));
    assert.equal(run.stdout.split('\n').length, 2, 'both answers arrived before the session closed');
  });

  it('hot reload: only the changed server restarts; an invalid edit keeps the last good config and says why', async () => {
    const a = await MiniSession.open(socket, 'a');
    await a.initialize();
    const b = await MiniSession.open(socket, 'b');
    await b.initialize();
    const [pidA, pidB] = [await toolText(a, 'pid'), await toolText(b, 'pid')];
    await s.writeConfig(config({ a: mini(), b: mini({ env: { MINI_SECRET: '${local:mini/secret}', ADDED: 'yes' } }) }));
    await waitFor(async () => (await server('b')).restarts === 1, 'b to restart');
    assert.equal(JSON.parse(await toolText(b, 'get-env')).ADDED, 'yes');
    assert.notEqual(await toolText(b, 'pid'), pidB);
    assert.equal(await toolText(a, 'pid'), pidA, 'a was left alone');

    await writeFile(s.configPath, '{ "mcpServers": { oops } }');
    await waitFor(async () => (await status()).configError !== undefined, 'the rejection');
    const text = await s.cli(['status']);
    assert.match(text.stdout, new RegExp(`the last edit was NOT applied: ${s.configPath}:1:\\d+: JSON syntax error`));
    assert.equal(await toolText(a, 'pid'), pidA, 'still serving on the last good config');
    const log = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log'), 'utf8');
    assert.match(log, /"event":"config.rejected"/);
    await s.writeConfig(config({ a: mini(), b: mini() }));
    await waitFor(async () => (await status()).configError === undefined, 'the fixed config');
    await Promise.all([a.close(), b.close()]);
  });

  it('removing a server closes its sessions with a reason; reload reports what changed', async () => {
    const b = await MiniSession.open(socket, 'b');
    await b.initialize();
    await s.writeConfig(config({ a: mini() }));
    const [code, reason] = await b.closed;
    assert.equal(code, 1001);
    assert.equal(reason, 'server "b" was removed from the config');
    await s.writeConfig(config({ a: mini(), c: mini() }));
    await waitFor(async () => (await status()).servers.some((x) => x.name === 'c'), 'c');
    assert.equal((await s.cli(['reload'])).stdout, 'reloaded the config; no server changed\n');
  });

  it('a setting read only when the daemon starts (daemon.maxMessageBytes): reload and status say it applies at the next start; sessions go on', async () => {
    const a = await MiniSession.open(socket, 'a');
    await a.initialize();
    const base = config({ a: mini(), c: mini() });
    await s.writeConfig({ ...base, daemon: { ...base.daemon, maxMessageBytes: 1024 } });
    await waitFor(async () => (await status()).atNextStart.length === 1, 'the reload');
    const reloaded = await s.cli(['reload']);
    assert.equal(reloaded.stdout, 'reloaded the config; no server changed\ndaemon.maxMessageBytes changed: applied when the daemon starts again (mcpd stop)\n');
    assert.match((await s.cli(['status'])).stdout, /\n {2}changed since the daemon started, applied when it starts again \(mcpd stop\): daemon\.maxMessageBytes\n/);
    assert.deepEqual((await a.request('ping', { pad: 'y'.repeat(4096) })).result, {}, 'the running daemon keeps its limit');
    const log = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log'), 'utf8');
    assert.match(log, /"warning":"daemon.maxMessageBytes changed: it applies when the daemon starts again/);
    assert.deepEqual((await a.request('ping')).result, {}, 'the session goes on');
    await s.writeConfig(config({ a: mini(), c: mini() }));
    await waitFor(async () => (await status()).atNextStart.length === 0, 'the edit undone');
    assert.doesNotMatch((await s.cli(['status'])).stdout, /changed since the daemon started/);
    await a.close();
  });

  it('an edit to socket.listen binds new listeners and closes removed ones at the reload; sessions go on', async () => {
    const own = await MiniSession.open(socket, 'a');
    await own.initialize();
    const token = (await s.cli(['token', 'create', 'listen-edit', '--scope', 'launch:a'])).stdout.trim();
    const shared = join(s.dir, 'shared.sock');
    const tcp = { host: '127.0.0.1', port: 0 };
    const withListen = (listen: object[]) => s.writeConfig({ ...config({ a: mini(), c: mini() }), socket: { listen } });
    await withListen([{ path: shared, mode: '600' }, tcp]);
    await waitFor(async () => (await status()).listeners.length === 2, 'both listeners bound');
    const [unix, port] = (await status()).listeners;
    assert.equal(unix, `unix:${shared}`);
    const url = `ws://127.0.0.1:${/^tcp:127\.0\.0\.1:(\d+)$/.exec(port!)![1]}/v1/session/a`;
    const overTcp = await MiniSession.at(url, token);
    await overTcp.initialize();
    const inode = (await stat(shared)).ino;

    await withListen([{ path: shared, mode: '600' }]);
    await waitFor(async () => (await status()).listeners.length === 1, 'the TCP listener closed');
    assert.deepEqual((await status()).listeners, [unix], 'the unchanged listener is kept');
    assert.equal((await stat(shared)).ino, inode, 'and not bound afresh');
    await assert.rejects(MiniSession.at(url, token), /ECONNREFUSED/, 'nothing listens on the removed port');
    assert.deepEqual((await overTcp.request('ping')).result, {}, 'a session opened through it goes on');
    assert.deepEqual((await own.request('ping')).result, {}, 'the owner\'s session goes on');

    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as AddressInfo).port;
    try {
      await withListen([{ path: shared, mode: '600' }, { host: '127.0.0.1', port: busy }]);
      await waitFor(async () => (await status()).listenerFailures.length === 1, 'the failed bind reported');
      const reloaded = await s.cli(['reload']);
      assert.equal(reloaded.exitCode, 2);
      assert.equal(reloaded.stdout, 'reloaded the config; no server changed\n');
      assert.equal(reloaded.stderr, 'mcpd: the rest of the config was applied, but the daemon does not listen where socket.listen asks: socket.listen[1]: cannot listen there: EADDRINUSE\n'
        + '  hint: fix or remove those entries of socket.listen; the daemon tries them again at the next reload\n');
      assert.match((await s.cli(['status'])).stdout, /\n {2}NOT listening: socket\.listen\[1\]: cannot listen there: EADDRINUSE\n/);
      assert.deepEqual((await status()).listeners, [unix]);
    } finally {
      taken.close();
    }
    await withListen([]);
    await waitFor(async () => (await status()).listeners.length === 0, 'every listener closed');
    assert.deepEqual((await status()).listenerFailures, []);
    await assert.rejects(stat(shared), { code: 'ENOENT' }, 'the shared socket file is gone');
    assert.deepEqual((await overTcp.request('ping')).result, {});
    await Promise.all([own.close(), overTcp.close(), s.cli(['token', 'revoke', 'listen-edit'])]);
  });

  it('stop NAME ends every session of that server and leaves the daemon and other servers running', async () => {
    const [a1, a2, c] = await Promise.all([MiniSession.open(socket, 'a'), MiniSession.open(socket, 'a'), MiniSession.open(socket, 'c')]);
    await Promise.all([a1.initialize(), a2.initialize(), c.initialize()]);
    const stopped = await s.cli(['stop', 'a']);
    assert.equal(stopped.stdout, 'stopped a in 2 sessions; the daemon keeps running\n');
    for (const session of [a1, a2]) assert.deepEqual(await session.closed, [1001, 'server "a" was stopped (mcpd stop a)']);
    assert.deepEqual((await c.request('ping')).result, {}, 'another server\'s session goes on');
    assert.equal((await server('a')).sessions, 0);
    const again = await MiniSession.open(socket, 'a');
    await again.initialize();
    assert.equal((await server('a')).state, 'running', 'a new session starts it again');
    const unknown = await s.cli(['stop', 'nope']);
    assert.equal(unknown.exitCode, 2);
    assert.match(unknown.stderr, /^mcpd: no server named "nope" in the daemon's config .*; known servers: a, c\n/);
    await Promise.all([again.close(), c.close()]);
  });

  it('events: what the daemon does, as it happens, for people or as JSON lines; never a value', async () => {
    const follow = (args: string[]) => {
      const child = execa(process.execPath, [cliMain, 'events', ...args], { env: s.env, extendEnv: false, reject: false });
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
      return { child, out: () => out };
    };
    const [json, text] = [follow(['--json']), follow([])];
    try {
      // Subscribed once a reload shows up: what came before a subscription is the log's, not the feed's.
      await waitFor(async () => {
        await s.cli(['reload']);
        return json.out().includes('"config.reloaded"') && text.out().includes(' config.reloaded ');
      }, 'both subscribed');
      const session = await MiniSession.open(socket, 'a');
      await session.initialize();
      assert.equal((JSON.parse(await toolText(session, 'get-env')) as Record<string, string>).MINI_SECRET, secret, 'the server got the value');
      await session.close();
      await waitFor(async () => json.out().includes('"session.closed"'), 'the session closed event');
      const events = json.out().trim().split('\n').map((line) => JSON.parse(line) as { time: string; event: string; server?: string; pid?: number });
      const opened = events.find((e) => e.event === 'session.opened');
      assert.equal(opened?.server, 'a');
      assert.equal(typeof opened?.pid, 'number');
      assert.ok(!Number.isNaN(Date.parse(opened!.time)));
      assert.ok(events.findIndex((e) => e.event === 'session.opened') < events.findIndex((e) => e.event === 'session.closed'));
      await waitFor(async () => / session\.closed session=[0-9a-f]{8} server=a$/m.test(text.out()), 'the line for people');
      assert.match(text.out(), /^\S+Z session\.opened session=[0-9a-f]{8} server=a pid=\d+$/m);
      for (const out of [json.out(), text.out()]) assert.ok(!out.includes(secret), 'no value in the feed');
    } finally {
      json.child.kill('SIGTERM');
      text.child.kill('SIGTERM');
      await Promise.all([json.child, text.child]);
    }
  });

  it('a follower that stops reading is dropped once 8 MiB behind, and mcpd logs -f says so; the server and its session go on', async () => {
    const session = await MiniSession.open(socket, 'a');
    await session.initialize();
    const follower = execa(process.execPath, [cliMain, 'logs', 'a', '-f'], { env: s.env, extendEnv: false, reject: false, buffer: false });
    let printed = 0;
    // The past lines arrive first; then its stdout is left unread, as a pager left paused leaves it.
    await once(follower.stdout!, 'data').then(([chunk]) => { printed += (chunk as Buffer).length; });
    follower.stdout!.pause();
    const count = 3000;
    const size = 8000;
    assert.equal(await toolText(session, 'chatter', { count, size }), `chattered ${count}`);
    const log = join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log');
    await waitFor(async () => (await readFile(log, 'utf8')).includes('"event":"control.dropped"'), 'the daemon to drop the follower');
    follower.stdout!.on('data', (chunk: Buffer) => { printed += chunk.length; }).resume();
    let stderr = '';
    follower.stderr!.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
    const ended = await follower;
    assert.equal(ended.exitCode, 4);
    assert.equal(stderr, 'mcpd: the daemon dropped this connection: it fell more than 8 MiB behind what it follows\n'
      + '  hint: read the output as it comes (a pager left paused holds it back), then run the command again\n');
    assert.ok(printed < (count * size) / 2, `the daemon stopped sending: ${printed} of ${count * size} bytes printed`);
    assert.deepEqual((await session.request('ping')).result, {}, 'the session goes on');
    assert.match((await s.cli(['logs', 'a', '-n', '1'])).stdout, new RegExp(`\\] ${count - 1}:c{${size}}\\n$`), 'the log kept every line');
    await session.close();
  });

  it('stop: servers shut down, socket removed; a verb then exits 4', async () => {
    const session = await MiniSession.open(socket, 'a');
    await session.initialize();
    const stopped = await s.cli(['stop']);
    assert.equal(stopped.stdout, `stopped the daemon on ${socket}\n`);
    assert.equal((await session.closed)[0], 1001);
    assert.equal((await s.cli(['status'])).exitCode, 4);
  });
});
