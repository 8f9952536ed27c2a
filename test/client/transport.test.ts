/**
 * The module host apps import: `client.connect(await mcpdTransport('NAME'))` with the MCP SDK's
 * own Client, against a real daemon and the real server-everything.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { McpdError, mcpdTransport } from '../../client/index.js';
import { startDaemon } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

describe('mcpd/client', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'], env: { FROM_MCPD: 'client-module-value' } } } });
    await startDaemon(s);
  });
  after(() => s.cleanup());

  it('connects the SDK Client to a server the daemon starts', async () => {
    const client = new Client({ name: 'host-app', version: '1.0.0' });
    await client.connect(await mcpdTransport('everything', { socket: s.env.MCPD_SOCKET, autostart: false }));
    const result = await client.callTool({ name: 'get-env', arguments: {} });
    const env = JSON.parse((result.content as Array<{ text: string }>)[0]!.text) as Record<string, string>;
    assert.equal(env.FROM_MCPD, 'client-module-value');
    await client.close();
  });

  it('is what the package exports as mcpd/client', async () => {
    const specifier = 'mcpd/client'; // a variable: the compiler must not resolve it before dist/ exists
    const exported = (await import(specifier)) as { mcpdTransport: unknown };
    assert.equal(exported.mcpdTransport, mcpdTransport);
  });

  it('a refusal rejects with the daemon\'s code and message', async () => {
    await assert.rejects(mcpdTransport('nope', { socket: s.env.MCPD_SOCKET, autostart: false }), (error: unknown) => {
      assert.ok(error instanceof McpdError);
      assert.equal(error.code, 'SERVER_UNKNOWN');
      assert.match(error.message, /no server named "nope" in the daemon's config .*; known servers: everything/);
      return true;
    });
  });
});
