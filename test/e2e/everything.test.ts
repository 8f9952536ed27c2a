/**
 * The main job, end to end: the real `@modelcontextprotocol/server-everything`, launched by
 * `mcpd run --no-daemon`, driven by the MCP SDK's own Client over stdio.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain } from '../helpers/repo.js';
import { childrenOf, cmdlineOf, groupMembers, waitUntilGone } from '../helpers/procs.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

interface Session {
  client: Client;
  transport: StdioClientTransport;
  stderr: () => string;
}

async function connect(s: Sandbox, name: string, extraEnv: Record<string, string> = {}): Promise<Session> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', '--no-daemon', name], env: { ...s.env, ...extraEnv }, stderr: 'pipe' });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => { stderr += chunk.toString(); });
  const client = new Client({ name: 'mcpd-e2e', version: '1.0.0' });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr };
}

describe('mcpd run --no-daemon with server-everything', () => {
  let s: Sandbox;
  const token = `tok-${randomBytes(16).toString('hex')}`;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        everything: { command: process.execPath, args: [everything], env: { DEMO_TOKEN: '${local:e2e/token}', PLAIN: 'literal' } },
        'everything-npx': { command: 'npx', args: ['-y', '@modelcontextprotocol/server-everything'], env: { DEMO_TOKEN: '${local:e2e/token}' }, inheritEnv: ['npm_config_cache'] },
      },
      providers: { local: { type: 'local', key: 'file' } },
    });
    const set = await s.cli(['secret', 'set', 'local:e2e/token'], { input: token });
    assert.equal(set.exitCode, 0, set.stderr);
  });
  after(() => s.cleanup());

  it('injects the secret, keeps the parent environment out, and keeps the secret off every command line', async () => {
    const { client, transport, stderr } = await connect(s, 'everything', { MCPD_TEST_LEAK: 'leak-canary' });
    const env = await serverEnv(client);
    assert.equal(env.DEMO_TOKEN, token);
    assert.equal(env.PLAIN, 'literal');
    assert.equal(env.MCPD_TEST_LEAK, undefined, 'a parent-only variable must not reach the server');
    const mcpdPid = transport.pid!;
    const [serverPid] = await childrenOf(mcpdPid);
    assert.ok(serverPid, 'the server runs as a child of mcpd');
    for (const pid of [mcpdPid, serverPid]) {
      const cmdline = await cmdlineOf(pid);
      assert.ok(cmdline.length > 0);
      assert.ok(!cmdline.includes(token), `/proc/${pid}/cmdline must not hold the secret`);
    }
    await client.close();
    await waitUntilGone([mcpdPid, serverPid]);
    assert.ok(!stderr().includes(token), 'nothing mcpd wrote holds the secret');
  });

  it('through npx: the session works, and closing it leaves no process of the group behind', async () => {
    const { client, transport } = await connect(s, 'everything-npx');
    assert.equal((await serverEnv(client)).DEMO_TOKEN, token);
    const [npxPid] = await childrenOf(transport.pid!);
    assert.ok(npxPid);
    const group = await groupMembers(npxPid);
    assert.ok(group.length >= 2, `npx leaves grandchildren: group ${npxPid} has ${group.join(', ')}`);
    await client.close();
    await waitUntilGone([transport.pid!, ...group]);
  });
});
