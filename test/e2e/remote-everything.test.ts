/**
 * Remote servers end to end: server-everything in its Streamable HTTP mode behind a proxy that
 * wants `Authorization: Bearer TOKEN`, the token kept in the local store. The SDK's Client runs
 * `mcpd run remote` (through the daemon) and `mcpd run --no-daemon remote` on stdio and must
 * get the same answers as the SDK's own StreamableHTTPClientTransport talking to it directly;
 * the token appears in no file mcpd wrote. Policy, status and sessions apply as to a local
 * server; a rotated header secret rolls the session onto a new remote session unnoticed;
 * server-everything's legacy SSE mode works with `type: "sse"` and by fallback.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { cliMain } from '../helpers/repo.js';
import { authGuard, type Guard, type Running, startEverything } from '../helpers/remote.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

/** What a client sees of the server: its tool names, and echo's answer. */
async function answers(client: Client): Promise<{ tools: string[]; echo: unknown; server: string | undefined }> {
  const { tools } = await client.listTools();
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'hello remote' } });
  return { tools: tools.map((t) => t.name).sort(), echo: echo.content, server: client.getServerVersion()?.name };
}

async function viaMcpd(s: Sandbox, args: string[]): Promise<{ client: Client; stderr: () => string }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, ...args], env: s.env, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'mcpd-remote-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

describe('remote servers through mcpd, with server-everything over HTTP', () => {
  let s: Sandbox;
  let http: Running;
  let sse: Running;
  let guard: Guard;
  const token = `rtok-${randomBytes(16).toString('hex')}`;
  const rotated = `rtok2-${randomBytes(16).toString('hex')}`;

  before(async () => {
    [http, sse] = await Promise.all([startEverything('streamableHttp'), startEverything('sse')]);
    guard = await authGuard(http.origin, [token, rotated]);
    s = await sandbox();
    const headers = { Authorization: 'Bearer ${local:remote/token}' };
    await s.writeConfig({
      mcpServers: {
        remote: { url: `${guard.origin}/mcp`, headers },
        guarded: { url: `${guard.origin}/mcp`, headers, tools: { deny: ['echo'] } },
        legacy: { type: 'sse', url: `${sse.origin}/sse` },
        fallback: { url: `${sse.origin}/sse` },
      },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:remote/token'], { input: token })).exitCode, 0);
  });
  after(async () => {
    await s.cleanup();
    await Promise.all([guard.stop(), http.stop(), sse.stop()]);
  });

  it('through the daemon and with --no-daemon: the same answers as the SDK\'s HTTP client direct', async () => {
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    await direct.connect(new StreamableHTTPClientTransport(new URL(`${guard.origin}/mcp`), { requestInit: { headers: { Authorization: `Bearer ${token}` } } }));
    const expected = await answers(direct);
    await direct.close();
    assert.ok(expected.tools.includes('echo'), `server-everything lists echo: ${expected.tools.join(', ')}`);
    assert.equal(expected.server, 'mcp-servers/everything');

    for (const args of [['run', 'remote'], ['run', '--no-daemon', 'remote']]) {
      const { client, stderr } = await viaMcpd(s, args);
      try {
        assert.deepEqual(await answers(client), expected, `mcpd ${args.join(' ')}: ${stderr()}`);
      } finally {
        await client.close();
      }
    }
    const withToken = guard.seen.filter((h) => h.authorization === `Bearer ${token}`);
    assert.ok(withToken.length > 6, 'every request of the three sessions carried the stored token');
  });

  it('the session shows in status and sessions; the token is in no file mcpd wrote, nor in its output', async () => {
    const { client } = await viaMcpd(s, ['run', 'remote']);
    try {
      await client.ping();
      const sessions = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ server: string; state: string }>;
      assert.ok(sessions.some((x) => x.server === 'remote' && x.state === 'running'), JSON.stringify(sessions));
      const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { servers: Array<{ name: string; state: string; command: string; refs: string[] }> };
      const remote = status.servers.find((x) => x.name === 'remote')!;
      assert.equal(remote.state, 'running');
      assert.equal(remote.command, `${guard.origin}/mcp`);
      assert.deepEqual(remote.refs, ['${local:remote/token}']);
      const text = JSON.stringify(sessions) + JSON.stringify(status);
      assert.ok(!text.includes(token));
    } finally {
      await client.close();
    }
    let searched = 0;
    for (const file of await filesUnder(s.dir)) {
      if (!(await stat(file)).isFile() || file.endsWith('.sock')) continue;
      const content = await readFile(file);
      searched += 1;
      // The local store holds it encrypted; any plaintext copy is a leak.
      assert.ok(!content.includes(token), `${file} holds the token in plaintext`);
    }
    assert.ok(searched >= 3, `searched the config, the store, the logs and the audit log (${searched} files)`);
    const audit = await s.cli(['audit', '--json']);
    assert.match(audit.stdout, /"server":"remote"/);
    assert.ok(!audit.stdout.includes(token));
  });

  it('tool policy applies to a remote server: a denied tool is hidden and its call refused', async () => {
    const { client } = await viaMcpd(s, ['run', 'guarded']);
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.length > 0 && !tools.some((t) => t.name === 'echo'), tools.map((t) => t.name).join(', '));
      await assert.rejects(client.callTool({ name: 'echo', arguments: { message: 'x' } }), /echo/);
    } finally {
      await client.close();
    }
  });

  it('a new header secret and `restart --roll`: the same client session goes on, its requests now carry the new token', async () => {
    const { client } = await viaMcpd(s, ['run', 'remote']);
    try {
      await client.listTools();
      assert.equal(guard.seen.at(-1)!.authorization, `Bearer ${token}`);
      const sessionsBefore = guard.seen.filter((h) => h['mcp-session-id'] !== undefined).at(-1)!['mcp-session-id'];
      assert.equal((await s.cli(['secret', 'set', 'local:remote/token'], { input: rotated })).exitCode, 0);
      const rolled = await s.cli(['restart', 'remote', '--roll']);
      assert.equal(rolled.exitCode, 0, rolled.stderr);
      assert.match(rolled.stdout, /rolled remote in 1 session/);
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'after the roll' } });
      assert.match(JSON.stringify(echo.content), /after the roll/);
      const last = guard.seen.at(-1)!;
      assert.equal(last.authorization, `Bearer ${rotated}`);
      assert.notEqual(last['mcp-session-id'], sessionsBefore, 'a new remote session, the handshake replayed to it');
      assert.equal((await s.cli(['restart', 'remote', '--roll'])).exitCode, 0);
      await client.ping();
      assert.equal(guard.seen.at(-1)!['mcp-session-id'], last['mcp-session-id'], 'unchanged values: the remote session is kept');
    } finally {
      await client.close();
    }
  });

  it('`mcpd restart NAME` opens a new remote session under the same client session, the handshake replayed', async () => {
    const { client } = await viaMcpd(s, ['run', 'remote']);
    try {
      await client.ping();
      const before = guard.seen.at(-1)!['mcp-session-id'];
      const restarted = await s.cli(['restart', 'remote']);
      assert.equal(restarted.exitCode, 0, restarted.stderr);
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'after the restart' } });
      assert.match(JSON.stringify(echo.content), /after the restart/);
      assert.notEqual(guard.seen.at(-1)!['mcp-session-id'], before);
      assert.ok(guard.seen.some((h) => h['mcp-session-id'] === before && h[':method'] === 'DELETE'), 'the old remote session was ended with DELETE');
    } finally {
      await client.close();
    }
  });

  it('a busy session (2,000 pings in bursts) is answered in full, and the daemon writes no warning', async () => {
    const { client } = await viaMcpd(s, ['run', 'remote']);
    try {
      for (let round = 0; round < 4; round++) await Promise.all(Array.from({ length: 500 }, () => client.ping()));
    } finally {
      await client.close();
    }
    // Autostart sends the daemon's stderr (node's warnings among it) to this file.
    const stderr = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.stderr'), 'utf8');
    assert.doesNotMatch(stderr, /Warning/, stderr.slice(0, 500));
  });

  it('a legacy SSE server: with type "sse", and by fallback from Streamable HTTP', async () => {
    const direct = new Client({ name: 'direct', version: '1.0.0' });
    const { SSEClientTransport } = await import('@modelcontextprotocol/sdk/client/sse.js');
    await direct.connect(new SSEClientTransport(new URL(`${sse.origin}/sse`)));
    const expected = await answers(direct);
    await direct.close();
    for (const args of [['run', 'legacy'], ['run', 'fallback'], ['run', '--no-daemon', 'fallback']]) {
      const { client, stderr } = await viaMcpd(s, args);
      try {
        assert.deepEqual(await answers(client), expected, `mcpd ${args.join(' ')}: ${stderr()}`);
      } finally {
        await client.close();
      }
    }
  });
});
