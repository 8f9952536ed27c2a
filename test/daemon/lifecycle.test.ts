/**
 * The daemon's life: started by racing `mcpd run`s (one daemon, not several), and ended by
 * SIGTERM (every server shut down the MCP way, the socket removed).
 */
import assert from 'node:assert/strict';
import { access, readdir } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import type { DaemonStatus } from '../../daemon/protocol.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { cmdlineOf, childrenOf, waitUntilGone } from '../helpers/procs.js';
import { waitFor } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const ping = (id: number) => `${JSON.stringify({ jsonrpc: '2.0', id, method: 'ping' })}\n`;

/** Processes running `mcpd daemon` on this sandbox's socket. */
async function daemons(socket: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const lines = await Promise.all(pids.map(async (pid) => ({ pid, cmd: await cmdlineOf(pid).catch(() => '') })));
  return lines.filter(({ cmd }) => cmd.includes('\0daemon\0') && cmd.includes(socket)).map(({ pid }) => pid);
}

describe('daemon lifecycle', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini: { command: process.execPath, args: [fixture('mini-mcp.js')] } } });
  });
  after(() => s.cleanup());

  it('six `mcpd run`s racing with no daemon start exactly one, and all are served', async () => {
    const runs = await Promise.all(Array.from({ length: 6 }, (_, i) =>
      execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, input: ping(i), reject: false })));
    for (const [i, run] of runs.entries()) {
      assert.equal(run.exitCode, 0, run.stderr);
      assert.deepEqual(JSON.parse(run.stdout), { jsonrpc: '2.0', id: i, result: {} });
    }
    assert.equal((await daemons(s.env.MCPD_SOCKET!)).length, 1);
  });

  it('SIGTERM: open sessions are told why, servers get MCP\'s shutdown, the socket is removed', async () => {
    const { pid } = JSON.parse((await s.cli(['status', '--json'])).stdout) as DaemonStatus;
    const run = execa(process.execPath, [cliMain, 'run', 'mini'], { env: s.env, extendEnv: false, stdin: 'pipe', reject: false });
    run.stdin.write(ping(1));
    await waitFor(async () => (await childrenOf(pid)).length === 1, 'the server');
    const servers = await childrenOf(pid);
    process.kill(pid, 'SIGTERM');
    const result = await run;
    assert.equal(result.exitCode, 4);
    assert.match(result.stderr, /mcpd: session to "mini" closed: the daemon is stopping \(received SIGTERM\)/);
    await waitUntilGone([pid, ...servers]);
    await assert.rejects(access(s.env.MCPD_SOCKET!), { code: 'ENOENT' });
  });
});
