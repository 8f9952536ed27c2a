/**
 * What the gateway relays besides a tool's answer, with the SDK's Client and its
 * StreamableHTTPClientTransport on `/mcp/NAME`: a url server (server-everything in its own
 * streamableHttp mode, started here) served like a local one; a server's request to the client
 * (sampling) and progress notifications on the stream of the call they belong to; restarts and
 * rolls under an HTTP session; an open GET stream counting as activity for the idle timeout.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { startDaemon } from '../helpers/daemon.js';
import { INITIALIZE, POST_HEADERS, send, SseStream } from '../helpers/mcp-http.js';
import { type Running, startEverything } from '../helpers/remote.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

describe('/mcp/NAME for a url server, and what a server sends the client meanwhile', () => {
  let s: Sandbox;
  let remote: Running;
  let port: number;
  let idlePort: number;
  let token: string;
  const open: Array<{ client: Client; transport: StreamableHTTPClientTransport }> = [];

  async function connect(url: URL, headers: Record<string, string>, client = new Client({ name: 'mcpd-gateway-remote', version: '1.0.0' })): Promise<Client> {
    const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers } });
    await client.connect(transport);
    open.push({ client, transport });
    return client;
  }

  const viaMcpd = (name: string, client?: Client) => connect(new URL(`http://127.0.0.1:${port}/mcp/${name}`), { authorization: `Bearer ${token}` }, client);

  before(async () => {
    remote = await startEverything('streamableHttp');
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { remote: { url: `${remote.origin}/mcp` }, everything: { command: process.execPath, args: [everything, 'stdio'] } },
      socket: { listen: [{ host: '127.0.0.1', port: 0 }, { host: '127.0.0.1', port: 0, idleTimeout: '1500ms' }] },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    [port, idlePort] = listeners.map((l) => Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(l)![1])) as [number, number];
    token = (await s.cli(['token', 'create', 'http-app', '--scope', 'launch:*'])).stdout.trim();
  });
  after(async () => {
    for (const { client, transport } of open) {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
    await s.cleanup();
    await remote.stop();
  });

  it('a url server answers through /mcp/NAME as it does directly', async () => {
    const answers = async (client: Client) => ({
      tools: (await client.listTools()).tools.map((t) => t.name).sort(),
      echo: (await client.callTool({ name: 'echo', arguments: { message: 'via the gateway' } })).content,
    });
    const direct = await answers(await connect(new URL(`${remote.origin}/mcp`), {}));
    assert.ok(direct.tools.includes('echo'));
    assert.deepEqual(await answers(await viaMcpd('remote')), direct);
    const rows = JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ server: string }>;
    assert.ok(rows.some((r) => r.server === 'remote'), 'the remote session is in mcpd sessions');
  });

  it('a server\'s sampling request reaches the client during the call, and its answer reaches the server', async () => {
    const client = new Client({ name: 'mcpd-gateway-sampling', version: '1.0.0' }, { capabilities: { sampling: {} } });
    const asked: string[] = [];
    client.setRequestHandler(CreateMessageRequestSchema, (request) => {
      const content = request.params.messages[0]!.content as { type: string; text: string };
      asked.push(content.text);
      return { model: 'test-model', role: 'assistant', content: { type: 'text', text: 'sampled by the test' } };
    });
    await viaMcpd('everything', client);
    const result = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 5 } });
    assert.deepEqual(asked, ['Resource trigger-sampling-request context: hello']);
    const [text] = result.content as Array<{ text: string }>;
    assert.match(text!.text, /sampled by the test/);
  });

  it('a roll onto a new process (mcpd restart --roll) and a plain restart keep the HTTP session', async () => {
    const client = await viaMcpd('everything');
    const { transport } = open.at(-1)!;
    const id = transport.sessionId;
    const pids = async () => (JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ server: string; pid: number }>).filter((r) => r.server === 'everything').map((r) => r.pid).sort();
    const before = await pids();
    for (const args of [['restart', 'everything', '--roll'], ['restart', 'everything']]) {
      assert.equal((await s.cli(args)).exitCode, 0, args.join(' '));
      const echo = await client.callTool({ name: 'echo', arguments: { message: args.join(' ') } });
      assert.deepEqual(echo.content, [{ type: 'text', text: `Echo: ${args.join(' ')}` }]);
    }
    assert.ok(id);
    assert.equal(transport.sessionId, id, 'the same HTTP session');
    assert.equal((await pids()).filter((pid) => before.includes(pid)).length, 0, 'every session of everything runs a new process');
  });

  it('an open GET stream keeps an idle HTTP session alive; once it closes, the idle timeout ends the session', async () => {
    const target = { port: idlePort };
    const init = await send(target, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${token}` }, INITIALIZE);
    const headers = { authorization: `Bearer ${token}`, 'mcp-session-id': init.headers['mcp-session-id'] as string, 'mcp-protocol-version': '2025-11-25' };
    const stream = await SseStream.open(target, 'GET', '/mcp/everything', { ...headers, accept: 'text/event-stream' });
    assert.equal(stream.status, 200);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const ping = { jsonrpc: '2.0', id: 2, method: 'ping' };
    assert.equal((await send(target, 'POST', '/mcp/everything', { ...POST_HEADERS, ...headers }, ping)).status, 200, 'alive after twice the idle timeout');
    stream.drop();
    // Asked only once: each request would start the idle time again.
    await new Promise((resolve) => setTimeout(resolve, 3000));
    assert.equal((await send(target, 'POST', '/mcp/everything', { ...POST_HEADERS, ...headers }, ping)).status, 404, 'ended once idle');
  });

  it('progress notifications reach the call that asked for them (its progressToken)', async () => {
    const client = await viaMcpd('everything');
    const seen: number[] = [];
    const result = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.4, steps: 4 } }, undefined, { onprogress: (p) => seen.push(p.progress) });
    assert.deepEqual(seen, [1, 2, 3, 4]);
    assert.match((result.content as Array<{ text: string }>)[0]!.text, /Long running operation completed/);
  });
});
