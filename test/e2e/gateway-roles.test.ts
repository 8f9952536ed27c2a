/**
 * Roles and limits on the HTTP gateway: the same check as on a WebSocket session. A subject
 * whose only rights come from a role (anonymous on a loopback listener with `none`) opens a
 * session over HTTP and sees what its role grants; a request beyond the subject's rate is
 * answered 429 with Retry-After, and never reaches the server; `mcpd sessions` names who opened
 * each session, and refusals for the rate reach the audit log once a minute, counted.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
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
  /** The audit file's lines, without their time. */
  const auditLines = async () => (await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'audit.log'), 'utf8')).trim().split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown> & { event: string }).map(({ time: _time, ...rest }) => rest);

  it('a subject with a role and no scope opens a session over HTTP and sees only what its role grants', async () => {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${anonymousPort}/mcp/everything`));
    const client = new Client({ name: 'mcpd-gateway-roles', version: '1.0.0' });
    await client.connect(transport);
    try {
      const listed = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ id: string; server: string; subject: string; roles: string[] }>;
      assert.deepEqual(listed.map(({ server, subject, roles }) => ({ server, subject, roles })), [{ server: 'everything', subject: 'anonymous', roles: ['echoer'] }]);
      const table = await s.cli(['sessions']);
      assert.match(table.stdout, new RegExp(`^${listed[0]!.id}\teverything\trunning\t\\d+\t\\d+s\tanonymous\\[echoer\\]\t`, 'm'));
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
    const listed = await s.cli(['sessions']);
    assert.match(listed.stdout, /\teverything\trunning\t\d+\t\d+s\ttoken:capped-app\[capped\]\t/);
    // Retries within the minute are counted, not written; a made-up route is not kept as a server name.
    for (const id of [5, 6]) assert.equal((await send({ port: tokenPort }, 'POST', '/mcp/everything', session, { jsonrpc: '2.0', id, method: 'ping' })).status, 429);
    assert.equal((await send({ port: tokenPort }, 'POST', '/mcp/made-up-7f3a', headers, INITIALIZE)).status, 429);
    const limited = (await auditLines()).filter((l) => l.event === 'rate.limited');
    assert.deepEqual(limited, [
      { event: 'rate.limited', server: 'everything', count: 1, limit: 3, setting: 'roles.capped.limits.requestsPerMinute', subject: 'token:capped-app', roles: ['capped'] },
      { event: 'rate.limited', server: '(unknown)', count: 1, limit: 3, setting: 'roles.capped.limits.requestsPerMinute', subject: 'token:capped-app', roles: ['capped'] },
    ]);
    await send({ port: tokenPort }, 'DELETE', '/mcp/everything', session);
  });

  it('a stopping daemon writes the refusals it counted: the count since the last rate.limited line', async () => {
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    const limited = (await auditLines()).filter((l) => l.event === 'rate.limited' && l.server === 'everything');
    assert.equal(limited.length, 2, JSON.stringify(limited));
    assert.equal(limited[1]!.count, 2);
    assert.ok(Number(limited[1]!.seconds) >= 1);
    const text = await s.cli(['audit', '--subject', 'token:capped-app', '--server', 'everything']);
    assert.match(text.stdout, /^\S+Z token:capped-app\[capped\] rate\.limited server=everything count=2 seconds=\d+ limit=3 setting=roles\.capped\.limits\.requestsPerMinute$/m);
    assert.doesNotMatch(text.stdout, /anonymous|\(unknown\)/, 'only the subject and server asked for');
  });
});
