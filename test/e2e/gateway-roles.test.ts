/**
 * Roles and limits on the HTTP gateway: the same check as on a WebSocket session. A subject
 * whose only rights come from a role (anonymous on a loopback listener with `none`) opens a
 * session over HTTP and sees what its role grants; a request beyond the subject's rate is
 * answered 429 with Retry-After, and never reaches the server.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startDaemon } from '../helpers/daemon.js';
import { INITIALIZE, POST_HEADERS, send } from '../helpers/mcp-http.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };

describe('/mcp/NAME: roles and limits', () => {
  let s: Sandbox;
  let anonymousPort: number;
  let tokenPort: number;
  let token: string;

  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: server, other: server },
      roles: {
        // Only echo, and nothing on "other".
        echoer: { grants: [{ server: 'everything', tools: ['echo'] }] },
        capped: { grants: [{ server: 'everything' }], limits: { requestsPerMinute: 3 } },
      },
      socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'none', roles: ['echoer'] }] }, { host: '127.0.0.1', port: 0 }] },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    [anonymousPort, tokenPort] = listeners.map((l) => Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(l)![1])) as [number, number];
    token = (await s.cli(['token', 'create', 'capped-app', '--role', 'capped'])).stdout.trim();
  });
  after(() => s.cleanup());

  it('a subject with a role and no scope opens a session over HTTP and sees only what its role grants', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${anonymousPort}/mcp/everything`));
    const client = new Client({ name: 'mcpd-gateway-roles', version: '1.0.0' });
    await client.connect(transport);
    try {
      const { tools } = await client.listTools();
      assert.deepEqual(tools.map((t) => t.name), ['echo']);
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'as anonymous' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: as anonymous' }]);
      const error = await client.callTool({ name: 'get-env', arguments: {} }).then(() => assert.fail('answered'), (e: unknown) => e);
      assert.ok(error instanceof McpError && error.code === -32003, String(error));
    } finally {
      await transport.terminateSession();
      await client.close();
    }
    const refused = await send({ port: anonymousPort }, 'POST', '/mcp/other', POST_HEADERS, INITIALIZE);
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /anonymous/);
  });

  it('a request beyond the subject\'s rate is 429 with Retry-After, the limit named; its notifications are not counted', async () => {
    const headers = { ...POST_HEADERS, authorization: `Bearer ${token}` };
    const opened = await send({ port: tokenPort }, 'POST', '/mcp/everything', headers, INITIALIZE);
    assert.equal(opened.status, 200, opened.text);
    const session = { ...headers, 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
    assert.equal((await send({ port: tokenPort }, 'POST', '/mcp/everything', session, { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    for (const id of [2, 3]) {
      const ping = await send({ port: tokenPort }, 'POST', '/mcp/everything', session, { jsonrpc: '2.0', id, method: 'ping' });
      assert.equal(ping.status, 200, `request ${id}: ${ping.text}`);
    }
    const over = await send({ port: tokenPort }, 'POST', '/mcp/everything', session, { jsonrpc: '2.0', id: 4, method: 'ping' });
    assert.equal(over.status, 429, over.text);
    const wait = Number(over.headers['retry-after']);
    assert.ok(Number.isInteger(wait) && wait >= 1 && wait <= 61, `Retry-After: ${String(over.headers['retry-after'])}`);
    const body = JSON.parse(over.text) as { error: { code: string; message: string; hint: string } };
    assert.equal(body.error.code, 'RATE_LIMITED');
    assert.match(body.error.message, /token:capped-app/);
    assert.match(body.error.hint, /roles\.capped\.limits\.requestsPerMinute/);
    await send({ port: tokenPort }, 'DELETE', '/mcp/everything', session);
  });
});
