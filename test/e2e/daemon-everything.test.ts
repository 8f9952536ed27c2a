/**
 * The daemon's main path: the MCP SDK's Client runs `mcpd run everything`, which starts a
 * daemon (none runs yet), opens a session through the socket, and talks to the real
 * `@modelcontextprotocol/server-everything` the daemon spawned with the secret injected. Then
 * 50 such sessions at once, 200 requests each.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain } from '../helpers/repo.js';
import { alive, childrenOf, cmdlineOf, waitUntilGone } from '../helpers/procs.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

async function connect(s: Sandbox): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'everything'], env: s.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'mcpd-daemon-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

/** The daemon's pid, from the daemon itself. */
async function daemonPid(s: Sandbox): Promise<number> {
  const status = await s.cli(['status', '--json']);
  assert.equal(status.exitCode, 0, status.stderr);
  return (JSON.parse(status.stdout) as { pid: number }).pid;
}

/** Sockets the process holds open (its listening socket included). */
async function openSockets(pid: number): Promise<number> {
  const fds = await readdir(`/proc/${pid}/fd`);
  const targets = await Promise.all(fds.map((fd) => readlink(`/proc/${pid}/fd/${fd}`).catch(() => '')));
  return targets.filter((t) => t.startsWith('socket:')).length;
}

describe('mcpd run through the daemon, with server-everything', () => {
  let s: Sandbox;
  const token = `dtok-${randomBytes(16).toString('hex')}`;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'], env: { DEMO_TOKEN: '${local:e2e/token}' } } },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:e2e/token'], { input: token })).exitCode, 0);
  });
  after(() => s.cleanup());

  it('starts a daemon, and the session gets initialize, tools/list and get-env with the injected value', async () => {
    assert.equal((await s.cli(['status'])).exitCode, 4, 'no daemon before the first run');
    const { client } = await connect(s);
    try {
      assert.equal(client.getServerVersion()?.name, 'mcp-servers/everything');
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'get-env'));
      assert.equal((await serverEnv(client)).DEMO_TOKEN, token);
      const pid = await daemonPid(s);
      const [serverPid] = await childrenOf(pid);
      assert.ok(serverPid, 'the daemon runs the server');
      for (const p of [pid, serverPid]) assert.ok(!(await cmdlineOf(p)).includes(token), `/proc/${p}/cmdline holds no secret`);
    } finally {
      await client.close();
    }
  });

  it('50 sessions at once, 200 requests each: every answer arrives; afterwards no server and no session socket remain', async () => {
    const pid = await daemonPid(s);
    await waitFor(async () => (await childrenOf(pid)).length === 0, 'the first session\'s server to go');
    const idleSockets = await openSockets(pid);
    const sessions = await Promise.all(Array.from({ length: 50 }, () => connect(s)));
    const servers = await childrenOf(pid);
    assert.equal(servers.length, 50, 'one server process per session');
    await Promise.all(sessions.map(async ({ client }, n) => {
      const answers = await Promise.all(Array.from({ length: 200 }, (_, i) =>
        i % 50 === 0 ? serverEnv(client).then((env) => env.DEMO_TOKEN) : client.ping().then(() => `ping ${i}`)));
      // The SDK matches each response to its request by id: a mismatch would fail the awaits above.
      assert.equal(answers.filter((a) => a === token).length, 4, `session ${n}: every get-env saw the token`);
      assert.equal(answers.length, 200);
    }));
    await Promise.all(sessions.map(({ client }) => client.close()));
    await waitUntilGone(servers, 20_000);
    await waitFor(async () => JSON.parse((await s.cli(['sessions', '--json'])).stdout).length === 0, 'sessions to close');
    await waitFor(async () => (await openSockets(pid)) <= idleSockets, 'session sockets to close');
    assert.deepEqual(await alive(servers), []);
  });
});
