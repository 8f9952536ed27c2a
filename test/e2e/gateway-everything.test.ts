/**
 * The HTTP gateway end to end: the real server-everything (stdio) behind `/mcp/NAME` on a
 * loopback TCP listener, driven by the SDK's own Client and StreamableHTTPClientTransport with a
 * client token; and by hand where the SDK hides what is tested (another subject's session id,
 * a foreign Origin, a dropped SSE stream resumed with Last-Event-ID, the owner-only socket).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { createRequire } from 'node:module';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { McpError } from '@modelcontextprotocol/sdk/types.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { INITIALIZE, messagesOf, POST_HEADERS, send, SseStream, type Target } from '../helpers/mcp-http.js';
import { serverEnv } from '../helpers/mcp.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };

interface SessionRow { id: string; server: string; pid: number | undefined }

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('/mcp/NAME: server-everything over MCP Streamable HTTP', () => {
  let s: Sandbox;
  let port: number;
  let idlePort: number;
  let token: string;
  let other: string;
  let tcp: Target;

  async function connect(name: string, bearer = token): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
    const transport = new StreamableHTTPClientTransport(new URL(`http://127.0.0.1:${port}/mcp/${name}`), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } });
    const client = new Client({ name: 'mcpd-gateway-e2e', version: '1.0.0' });
    await client.connect(transport);
    return { client, transport };
  }

  async function sessions(): Promise<SessionRow[]> {
    return JSON.parse((await s.cli(['sessions', '--json'])).stdout) as SessionRow[];
  }

  /** The server process of the one session opened since `before` was listed. */
  async function newPid(before: SessionRow[]): Promise<number> {
    const fresh = (await sessions()).filter((r) => !before.some((b) => b.id === r.id));
    assert.equal(fresh.length, 1, JSON.stringify(fresh));
    assert.ok(fresh[0]!.pid && alive(fresh[0]!.pid), 'the server runs');
    return fresh[0]!.pid;
  }

  /** An initialize by hand on `target`; the session id it was given. */
  async function initialize(target: Target, bearer: string | undefined, name = 'everything'): Promise<string> {
    const answer = await send(target, 'POST', `/mcp/${name}`, { ...POST_HEADERS, ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) }, INITIALIZE);
    assert.equal(answer.status, 200, answer.text);
    assert.ok(messagesOf(answer).some((m) => m.id === 1 && m.result), answer.text);
    const id = answer.headers['mcp-session-id'];
    assert.equal(typeof id, 'string');
    return id as string;
  }

  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: server, guarded: { ...server, tools: { deny: ['get-env'] } } },
      socket: { listen: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, idleTimeout: '1500ms' }] },
      daemon: { maxMessageBytes: 256 * 1024 },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    [port, idlePort] = listeners.map((l) => Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(l)![1])) as [number, number];
    tcp = { port };
    token = (await s.cli(['token', 'create', 'http-app', '--scope', 'launch:*'])).stdout.trim();
    other = (await s.cli(['token', 'create', 'other-app', '--scope', 'launch:*'])).stdout.trim();
  });
  after(() => s.cleanup());

  it('tools/list and tools/call with a client token; the token never reaches the server\'s environment', async () => {
    const { client, transport } = await connect('everything');
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo') && tools.some((t) => t.name === 'get-env'), tools.map((t) => t.name).join(', '));
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'over http' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: over http' }]);
      const env = await serverEnv(client);
      assert.ok(env.PATH, 'get-env answered with the server\'s environment');
      assert.ok(!JSON.stringify(env).includes(token), 'the client token is in the server\'s environment');
      assert.ok(!JSON.stringify(env).includes(token.slice(-16)), 'part of the client token is in the server\'s environment');
      const rows = await sessions();
      assert.ok(rows.some((r) => r.server === 'everything' && r.pid !== undefined), JSON.stringify(rows));
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('tools.deny applies as on a WebSocket session: hidden from tools/list, a call answered by mcpd', async () => {
    const { client, transport } = await connect('guarded');
    try {
      const { tools } = await client.listTools();
      assert.ok(tools.some((t) => t.name === 'echo') && !tools.some((t) => t.name === 'get-env'));
      const error = await client.callTool({ name: 'get-env', arguments: {} }).then(() => assert.fail('answered'), (e: unknown) => e);
      assert.ok(error instanceof McpError, String(error));
      assert.equal(error.code, -32003);
      assert.match(error.message, /mcpd policy: tool "get-env" is denied: it matches "get-env" in mcpServers\.guarded\.tools\.deny; the request was not passed to the server/);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  });

  it('DELETE ends the session and its server process; the id is then unknown (404)', async () => {
    const listed = await sessions();
    const { client, transport } = await connect('everything');
    const id = transport.sessionId!;
    const pid = await newPid(listed);
    await transport.terminateSession();
    await waitFor(async () => !alive(pid) && !(await sessions()).some((r) => r.pid === pid), 'the server process to exit after DELETE');
    const after = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id }, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(after.status, 404);
    assert.match(after.text, /Session not found/);
    await client.close();
  });

  it('a session id sent by another subject is refused as unknown (404); its own subject is served', async () => {
    const id = await initialize(tcp, token);
    const ping = { jsonrpc: '2.0', id: 7, method: 'ping' };
    const headers = { ...POST_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    const stranger = await send(tcp, 'POST', '/mcp/everything', { ...headers, authorization: `Bearer ${other}` }, ping);
    assert.equal(stranger.status, 404, stranger.text);
    const owner = await send(tcp, 'POST', '/mcp/everything', { ...headers, authorization: `Bearer ${token}` }, ping);
    assert.equal(owner.status, 200, owner.text);
    assert.deepEqual(messagesOf(owner).find((m) => m.id === 7)?.result, {});
    await send(tcp, 'DELETE', '/mcp/everything', { ...headers, authorization: `Bearer ${token}` });
  });

  it('no token or a bad one: 401 with WWW-Authenticate and the error\'s code, message and hint; a token without launch:NAME 403', async () => {
    const none = await send(tcp, 'POST', '/mcp/everything', POST_HEADERS, INITIALIZE);
    assert.equal(none.status, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer realm="mcpd"');
    const body = JSON.parse(none.text) as { error: { code: string; message: string; hint: string } };
    assert.deepEqual([body.error.code, body.error.message], ['TOKEN_REQUIRED', '/mcp/everything needs a client token on this listener']);
    assert.match(body.error.hint, /Authorization: Bearer TOKEN/);
    const bad = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: 'Bearer mcpd_nottoken' }, INITIALIZE);
    assert.equal(bad.status, 401);
    assert.equal(bad.headers['www-authenticate'], 'Bearer realm="mcpd", error="invalid_token"');
    assert.equal((JSON.parse(bad.text) as { error: { code: string } }).error.code, 'TOKEN_INVALID');
    const narrow = (await s.cli(['token', 'create', 'guarded-only', '--scope', 'launch:guarded'])).stdout.trim();
    const scope = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${narrow}` }, INITIALIZE);
    assert.equal(scope.status, 403);
    assert.deepEqual(JSON.parse(scope.text), { error: { code: 'SCOPE_MISSING', message: 'token "guarded-only" lacks the scope launch:everything needed for a session to "everything"', hint: 'create a token with --scope launch:everything (mcpd token create NAME --scope launch:everything), or ask the owner to' } });
  });

  it('a page of another site (Origin) is refused with 403 before its token is looked at', async () => {
    const answer = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, origin: 'https://rebind.example', authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(answer.status, 403);
    const { error } = JSON.parse(answer.text) as { error: { code: string; message: string } };
    assert.equal(error.code, 'REFUSED');
    assert.match(error.message, /^socket\.listen\[0\] refused a request with the Origin header "https:\/\/rebind\.example"/);
    const local = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, origin: `http://localhost:${port}`, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(local.status, 200, 'a loopback Origin is served');
    await send(tcp, 'DELETE', '/mcp/everything', { authorization: `Bearer ${token}`, 'mcp-session-id': local.headers['mcp-session-id'] as string });
  });

  it('an unknown server is 404 with its name; no session without an initialize; other methods 405', async () => {
    const unknown = await send(tcp, 'POST', '/mcp/ghost', { ...POST_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /no server named \\"ghost\\"/);
    const before = (await sessions()).length;
    const ping = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}` }, { jsonrpc: '2.0', id: 1, method: 'ping' });
    assert.equal(ping.status, 400);
    assert.match(ping.text, /Mcp-Session-Id header is required/);
    const put = await send(tcp, 'PUT', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    assert.deepEqual([put.status, put.headers.allow], [405, 'GET, POST, DELETE']);
    assert.equal((await sessions()).length, before, 'no server was started');
  });

  it('a body over daemon.maxMessageBytes is refused with 413, one that is not JSON with 400; neither starts a server', async () => {
    const before = (await sessions()).length;
    const auth = { ...POST_HEADERS, authorization: `Bearer ${token}` };
    const huge = await send(tcp, 'POST', '/mcp/everything', auth, { ...INITIALIZE, padding: 'x'.repeat(300 * 1024) });
    assert.equal(huge.status, 413);
    assert.match(huge.text, /Payload Too Large: Request body must not exceed 262144 bytes/);
    const garbled = await new Promise<number>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/mcp/everything', headers: auth }, (res) => resolve(res.resume().statusCode ?? 0));
      req.on('error', reject).end('{"jsonrpc": "2.0", "id": 1, "method": "initialize"');
    });
    assert.equal(garbled, 400);
    assert.equal((await sessions()).length, before);
  });

  it('a stream dropped during a long tool call resumes with Last-Event-ID and delivers the rest', async () => {
    const id = await initialize(tcp, token);
    const headers = { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    await send(tcp, 'POST', '/mcp/everything', headers, { jsonrpc: '2.0', method: 'notifications/initialized' });
    const call = { jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 2, steps: 8 }, _meta: { progressToken: 'p9' } } };
    const first = await SseStream.open(tcp, 'POST', '/mcp/everything', headers, call);
    assert.equal(first.status, 200);
    const before: number[] = [];
    // Other notifications may come on the call's stream too (server-everything announces its tool list).
    while (before.length < 2) {
      const event = await first.next();
      const message = JSON.parse(event!.data) as { method?: string; params: { progress: number; progressToken: string } };
      if (message.method !== 'notifications/progress') continue;
      assert.equal(message.params.progressToken, 'p9');
      before.push(message.params.progress);
    }
    const lastId = first.lastId!;
    first.drop();
    // Progress goes on while no one listens: it waits in the event store.
    await new Promise((resolve) => setTimeout(resolve, 600));
    const resumed = await SseStream.open(tcp, 'GET', '/mcp/everything', { accept: 'text/event-stream', authorization: `Bearer ${token}`, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25', 'last-event-id': lastId });
    assert.equal(resumed.status, 200);
    const rest: Array<{ id?: number; method?: string; params?: { progress: number }; result?: { content: Array<{ text: string }> } }> = [];
    for (let event = await resumed.next(); event; event = await resumed.next()) {
      rest.push(JSON.parse(event.data) as (typeof rest)[number]);
      if (rest.at(-1)!.id === 9) break;
    }
    resumed.drop();
    assert.deepEqual(before, [1, 2]);
    assert.deepEqual(rest.filter((m) => m.method === 'notifications/progress').map((m) => m.params!.progress), [3, 4, 5, 6, 7, 8]);
    assert.match(rest.at(-1)!.result!.content[0]!.text, /Long running operation completed/);
    await send(tcp, 'DELETE', '/mcp/everything', headers);
  });

  it('the owner-only Unix socket serves /mcp/NAME too, to the owner without a token; an unknown MCP-Protocol-Version is 400', async () => {
    const unix = { socketPath: s.env.MCPD_SOCKET! };
    const id = await initialize(unix, undefined);
    const headers = { ...POST_HEADERS, 'mcp-session-id': id, 'mcp-protocol-version': '2025-11-25' };
    const list = await send(unix, 'POST', '/mcp/everything', headers, { jsonrpc: '2.0', id: 2, method: 'tools/list' });
    const tools = (messagesOf(list).find((m) => m.id === 2)?.result as { tools: Array<{ name: string }> }).tools;
    assert.ok(tools.some((t) => t.name === 'echo'));
    const version = await send(unix, 'POST', '/mcp/everything', { ...headers, 'mcp-protocol-version': '1999-01-01' }, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.equal(version.status, 400);
    assert.match(version.text, /Unsupported protocol version: 1999-01-01/);
    assert.equal((await send(unix, 'DELETE', '/mcp/everything', headers)).status, 200);
  });

  it('when the mcpd session ends (mcpd stop NAME) the HTTP session ends too: 404, then a new initialize works', async () => {
    const id = await initialize(tcp, token);
    assert.equal((await s.cli(['stop', 'everything'])).exitCode, 0);
    const ping = await send(tcp, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id }, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.equal(ping.status, 404);
    const again = await initialize(tcp, token);
    assert.notEqual(again, id);
    await send(tcp, 'DELETE', '/mcp/everything', { authorization: `Bearer ${token}`, 'mcp-session-id': again });
  });

  it('revoking the token that opened an HTTP session ends it and its server', async () => {
    const short = (await s.cli(['token', 'create', 'short-lived', '--scope', 'launch:everything'])).stdout.trim();
    const listed = await sessions();
    await initialize(tcp, short);
    const pid = await newPid(listed);
    assert.equal((await s.cli(['token', 'revoke', 'short-lived'])).exitCode, 0);
    await waitFor(async () => !alive(pid), 'the revoked token\'s server to exit');
  });

  it('the client tokens used over HTTP appear in no file mcpd wrote (logs, audit log, state)', async () => {
    const written = await filesUnder(s.dir);
    assert.ok(written.some((f) => f.endsWith('audit.log')), `the audit log is among them: ${written.join(', ')}`);
    for (const file of written) {
      const text = await readFile(file, 'utf8');
      for (const secret of [token, other]) assert.ok(!text.includes(secret) && !text.includes(secret.slice(-16)), `${file} holds a client token`);
    }
  });

  it('an idle HTTP session (no request, no open stream for idleTimeout) ends with its server', async () => {
    const listed = await sessions();
    const id = await initialize({ port: idlePort }, token);
    const pid = await newPid(listed);
    await waitFor(async () => !alive(pid), 'the idle session\'s server to exit', 10_000);
    const ping = await send({ port: idlePort }, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': id }, { jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.equal(ping.status, 404);
  });
});
