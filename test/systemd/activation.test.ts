/**
 * Socket activation for real: `systemd-socket-activate` listens, then on the first connection
 * execs `mcpd daemon` with the listening fd, LISTEN_FDS and LISTEN_PID, exactly as systemd's
 * mcpd.socket does. The daemon must serve on that fd, keep LISTEN_* from its servers, and on
 * stop leave the socket file to whoever bound it.
 */
import assert from 'node:assert/strict';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type ResultPromise, execa } from 'execa';
import type { DaemonStatus } from '../../daemon/protocol.js';
import { MiniSession, waitFor } from '../helpers/daemon.js';
import { childrenOf, cmdlineOf, waitUntilGone } from '../helpers/procs.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

/** undefined when `tool` runs here; else why these tests skip (a failure under MCPD_REQUIRE_SYSTEMD=1, as in CI). */
async function systemdSkipReason(tool: string): Promise<string | undefined> {
  if ((await execa(tool, ['--version'], { reject: false })).exitCode === 0) return undefined;
  const reason = `${tool} is not installed here (as root: apt-get install -y systemd)`;
  if (process.env.MCPD_REQUIRE_SYSTEMD === '1') throw new Error(`MCPD_REQUIRE_SYSTEMD=1 but ${reason}`);
  return reason;
}

const skip = await systemdSkipReason('systemd-socket-activate');

describe('mcpd daemon under socket activation', { skip }, () => {
  let s: Sandbox;
  const started: ResultPromise[] = [];
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } });
  });
  after(async () => {
    for (const activator of started) activator.kill('SIGKILL');
    await s.cleanup();
  });

  /** Listens on `socket` the way mcpd.socket does; the daemon starts on the first connection. */
  async function activate(socket: string): Promise<{ activator: ResultPromise }> {
    // systemd-socket-activate passes on only PATH, HOME, USER and TERM, and what -E names.
    const passed = ['MCPD_CONFIG', 'XDG_CONFIG_HOME', 'XDG_DATA_HOME', 'XDG_STATE_HOME'].flatMap((name) => ['-E', name]);
    const activator = execa('systemd-socket-activate', ['-l', socket, ...passed, '-E', `MCPD_SOCKET=${socket}`, process.execPath, cliMain, 'daemon'], {
      env: s.env, extendEnv: false, reject: false, all: true,
    });
    started.push(activator);
    let said = '';
    activator.all.on('data', (chunk: Buffer) => { said += chunk.toString(); });
    await waitFor(async () => said.includes(`Listening on ${socket}`), 'systemd-socket-activate to listen');
    // Wrapped: an awaited process would be waited for until it exits.
    return { activator };
  }

  it('the first connection starts the daemon on the inherited fd; it serves sessions; mcpd stop ends it all', async () => {
    const socket = s.env.MCPD_SOCKET!;
    const { activator } = await activate(socket);
    const pid = activator.pid!;
    assert.match(await cmdlineOf(pid), /^systemd-socket-activate\0/, 'no daemon before a client connects');

    const status = await s.cli(['status', '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const daemon = JSON.parse(status.stdout) as DaemonStatus;
    assert.equal(daemon.pid, pid, 'the daemon is systemd-socket-activate\'s process, exec\'d, so LISTEN_PID named it');
    assert.equal(daemon.socket, socket);
    assert.match(await cmdlineOf(pid), new RegExp(`\\0${cliMain}\\0daemon\\0$`));

    const session = await MiniSession.open(socket, 'mini');
    await session.initialize();
    const env = await session.request('tools/call', { name: 'get-env', arguments: {} });
    const serverEnv = JSON.parse((env.result as { content: { text: string }[] }).content[0]!.text) as Record<string, string>;
    assert.deepEqual(Object.keys(serverEnv).filter((key) => key.startsWith('LISTEN_')), [], 'the activation variables do not reach servers');
    const servers = await childrenOf(pid);
    assert.equal(servers.length, 1);

    const stopped = await s.cli(['stop']);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.equal(stopped.stdout, `stopped the daemon on ${socket}\n`);
    const [code] = await session.closed;
    assert.equal(code, 1001);
    assert.equal((await activator).exitCode, 0);
    await waitUntilGone([pid, ...servers]);
    // The daemon did not bind this socket, so it is not the daemon's to remove (systemd's RemoveOnStop= is).
    await access(socket);
  });

  it('SIGTERM to the activated daemon: it exits 0 and leaves no process behind', async () => {
    const socket = join(s.dir, 'term.sock');
    const { activator } = await activate(socket);
    const status = await s.cli(['status', '--json'], { env: { MCPD_SOCKET: socket } });
    assert.equal(status.exitCode, 0, status.stderr);
    assert.equal((JSON.parse(status.stdout) as DaemonStatus).pid, activator.pid);
    activator.kill('SIGTERM');
    const result = await activator;
    assert.equal(result.exitCode, 0, String(result.all));
    assert.match(String(result.all), /"event":"daemon.stopping","reason":"received SIGTERM"/);
    await waitUntilGone([activator.pid!]);
  });
});
