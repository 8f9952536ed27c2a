/**
 * lean-http.ts against a real Streamable HTTP endpoint of the test's own (node:http on
 * 127.0.0.1) whose every answer the test chooses: JSON and event-stream answers, the session id
 * and the negotiated protocol version sent back, the standalone GET stream after
 * `notifications/initialized`, a stream resumed with Last-Event-ID after the server's retry,
 * redirects, the statuses the bridge reads, DELETE and close. Through RemoteLink, the header's
 * secret appears in no error.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { McpdError } from '../../../core/errors.js';
import { httpFetch } from '../../../daemon/remote/http-fetch.js';
import { LeanHttpTransport } from '../../../daemon/remote/lean-http.js';
import { RemoteLink } from '../../../daemon/remote/remote-link.js';

const SECRET = 'Bearer lean-s3cret-value';
const INITIALIZE: JSONRPCMessage = { jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } };
const sse = (...events: string[]) => events.map((e) => `${e}\n\n`).join('');
const data = (message: object, id?: string) => `${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(message)}`;

interface Seen { method: string; url: string; headers: IncomingMessage['headers']; body: string }
type Handler = (seen: Seen, res: ServerResponse) => void;

/** Waits until `check` holds, polling; fails after 5 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (const t0 = Date.now(); !check(); await new Promise((resolve) => setTimeout(resolve, 5))) {
    if (Date.now() - t0 > 5000) assert.fail(`timed out waiting for ${what}`);
  }
}

describe('LeanHttpTransport', () => {
  let server: Server;
  let origin: string;
  let handler: Handler;
  const seen: Seen[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
      req.on('end', () => {
        const s = { method: req.method!, url: req.url!, headers: req.headers, body };
        seen.push(s);
        handler(s, res);
      });
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => { seen.splice(0); });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  /** A transport on `${origin}/mcp` and what it delivered and reported. */
  function open(): { t: LeanHttpTransport; got: JSONRPCMessage[]; errors: Error[] } {
    const t = new LeanHttpTransport(new URL(`${origin}/mcp`), httpFetch);
    const got: JSONRPCMessage[] = [];
    const errors: Error[] = [];
    t.onmessage = (m) => got.push(m);
    t.onerror = (e) => errors.push(e);
    return { t, got, errors };
  }

  /** An endpoint that starts a session: initialize answered as JSON with a session id, the rest as event streams. */
  const sessionEndpoint: Handler = (s, res) => {
    const message = s.body ? JSON.parse(s.body) as { id?: number; method?: string } : {};
    if (s.method === 'DELETE') return void res.writeHead(200).end();
    if (s.method === 'GET') return void res.writeHead(405).end();
    if (message.method === 'initialize') {
      return void res.writeHead(200, { 'content-type': 'application/json', 'mcp-session-id': 'sess-1' }).end(JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { protocolVersion: '2025-06-18', capabilities: {}, serverInfo: { name: 's', version: '1' } } }));
    }
    if (message.id === undefined) return void res.writeHead(202).end();
    res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(data({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info' } }), data({ jsonrpc: '2.0', id: message.id, result: {} })));
  };

  it('answers as JSON and as an event stream; the session id and the negotiated protocol version go back on every later request', async () => {
    handler = sessionEndpoint;
    const { t, got } = open();
    await t.start();
    await t.send(INITIALIZE);
    await t.send({ jsonrpc: '2.0', id: 2, method: 'ping' });
    await until(() => got.length === 3, 'the ping\'s stream');
    assert.deepEqual(got.map((m) => ('id' in m ? m.id : (m as { method: string }).method)), [1, 'notifications/message', 2]);
    assert.equal(t.sessionId, 'sess-1');
    assert.equal(seen[0]!.headers['mcp-session-id'], undefined);
    assert.equal(seen[0]!.headers['mcp-protocol-version'], undefined);
    assert.equal(seen[1]!.headers['mcp-session-id'], 'sess-1');
    assert.equal(seen[1]!.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(seen[1]!.headers.accept, 'application/json, text/event-stream');
    assert.equal(seen[1]!.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(seen[1]!.body), { jsonrpc: '2.0', id: 2, method: 'ping' });
    await t.terminateSession();
    assert.deepEqual([seen.at(-1)!.method, seen.at(-1)!.headers['mcp-session-id']], ['DELETE', 'sess-1']);
    assert.equal(t.sessionId, undefined);
    await t.close();
  });

  it('opens the standalone GET stream once notifications/initialized is accepted, in order after it', async () => {
    let push: (text: string) => void = () => {};
    handler = (s, res) => {
      if (s.method !== 'GET') return sessionEndpoint(s, res);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      push = (text) => res.write(text);
    };
    const { t, got } = open();
    await t.send(INITIALIZE);
    // As the daemon sends them: the next request does not wait for the notification's answer.
    await Promise.all([t.send({ jsonrpc: '2.0', method: 'notifications/initialized' }), t.send({ jsonrpc: '2.0', id: 2, method: 'ping' })]);
    await until(() => seen.some((s) => s.method === 'GET'), 'the GET stream');
    const get = seen.find((s) => s.method === 'GET')!;
    const order = seen.map((s) => (s.method === 'POST' ? (JSON.parse(s.body) as { method: string }).method : s.method));
    assert.deepEqual(order, ['initialize', 'notifications/initialized', 'ping', 'GET'], 'the server is initialized before the next request reaches it');
    assert.equal(get.headers['mcp-session-id'], 'sess-1');
    assert.equal(get.headers['mcp-protocol-version'], '2025-06-18');
    assert.equal(get.headers['last-event-id'], undefined);
    push(sse(data({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' })));
    await until(() => got.some((m) => 'method' in m && m.method === 'notifications/tools/list_changed'), 'the server\'s own message');
    await t.close();
  });

  it('a POST stream that ends unanswered after an event id is resumed with Last-Event-ID after the server\'s retry', async () => {
    handler = (s, res) => {
      if (s.method === 'GET') {
        return void res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(data({ jsonrpc: '2.0', id: 7, result: { resumed: true } }, 'e-2')));
      }
      res.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse('id: e-1\nretry: 300\ndata: '));
    };
    const { t, got } = open();
    const sent = Date.now();
    await t.send({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'slow' } });
    await until(() => got.length === 1, 'the resumed answer');
    const get = seen.find((s) => s.method === 'GET')!;
    assert.equal(get.headers['last-event-id'], 'e-1');
    assert.ok(Date.now() - sent >= 290, `resumed after the server's 300 ms retry, not before (${Date.now() - sent} ms)`);
    assert.deepEqual(got[0], { jsonrpc: '2.0', id: 7, result: { resumed: true } });
    await t.close();
  });

  it('follows a 307 within the server\'s origin with the same body; another origin\'s is an error naming where, without its query', async () => {
    handler = (s, res) => {
      if (s.url === '/mcp') return void res.writeHead(307, { location: '/mcp2' }).end();
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ jsonrpc: '2.0', id: 3, result: {} }));
    };
    const { t, got } = open();
    await t.send({ jsonrpc: '2.0', id: 3, method: 'ping' });
    assert.deepEqual(seen.map((s) => [s.method, s.url, s.body]), [['POST', '/mcp', seen[0]!.body], ['POST', '/mcp2', seen[0]!.body]]);
    assert.equal(got.length, 1);

    handler = (_s, res) => res.writeHead(307, { location: 'http://127.0.0.2:9/mcp?token=abc' }).end();
    await assert.rejects(t.send({ jsonrpc: '2.0', id: 4, method: 'ping' }), { code: 307, message: 'Streamable HTTP error: Redirect to http://127.0.0.2:9/mcp not followed' });
    await t.close();
  });

  it('reports a status as its code, and an answer neither JSON nor an event stream as -1 (the SSE fallback\'s cues)', async () => {
    const { t } = open();
    handler = (_s, res) => res.writeHead(404).end('nope');
    await assert.rejects(t.send(INITIALIZE), { code: 404 });
    handler = (_s, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    await assert.rejects(t.send(INITIALIZE), { code: -1 });
    await t.close();
  });

  it('close() cuts a stream being read and stops its resumption', async () => {
    let cut = false;
    handler = (_s, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse('id: e-1\nretry: 50\ndata: '));
      res.on('close', () => { cut = true; });
    };
    const { t, errors } = open();
    await t.send({ jsonrpc: '2.0', id: 5, method: 'tools/call' });
    await t.close();
    await until(() => cut, 'the server to see the stream closed');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.equal(seen.filter((s) => s.method === 'GET').length, 0, 'no resumption after close');
    assert.deepEqual(errors, []);
  });

  it('through RemoteLink, a failure names the server and URL and never carries the header\'s value', async () => {
    const failures: Array<[Handler, string]> = [
      [(_s, res) => res.writeHead(401, { 'www-authenticate': 'Bearer' }).end(`bad token ${SECRET}`), 'REMOTE_UNAUTHORIZED'],
      [(_s, res) => res.writeHead(500).end(`echo ${SECRET}`), 'REMOTE_FAILED'],
      [(_s, res) => res.writeHead(307, { location: `http://127.0.0.2:9/x?auth=${encodeURIComponent(SECRET)}` }).end(), 'REMOTE_FAILED'],
    ];
    for (const [fail, code] of failures) {
      handler = fail;
      const link = new RemoteLink({ kind: 'remote', name: 'lean', url: `${origin}/mcp`, transport: 'http', headers: { Authorization: SECRET }, refs: [], leases: [], oauth: undefined }, { message: () => {}, warning: () => {} });
      const error: unknown = await link.send(INITIALIZE).then(() => undefined, (e: unknown) => e);
      assert.ok(error instanceof McpdError, String(error));
      assert.equal(error.code, code);
      assert.match(error.message, new RegExp(`server "lean".*${origin}/mcp`));
      assert.ok(!error.format().includes('lean-s3cret-value'), error.format());
      assert.equal(seen.at(-1)!.headers.authorization, SECRET, 'the header did reach the server');
      await link.close();
    }
  });
});
