/**
 * http-fetch.ts, fetch's shape over node:http, against a real server on 127.0.0.1: what it sends
 * is what the server reads, the answer streams as it arrives, a redirect is handed back, an
 * abort stops a request and a body being read, no listener stays on a shared signal, a kept-alive
 * connection the server dropped is retried once, and network failures keep node's codes.
 */
import assert from 'node:assert/strict';
import { getEventListeners, once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { gzipSync } from 'node:zlib';
import { after, before, beforeEach, describe, it } from 'node:test';
import { httpFetch } from '../../../daemon/remote/http-fetch.js';
import { networkError } from '../../../daemon/remote/remote-errors.js';
import { freePort } from '../../helpers/remote.js';

type Handler = (req: IncomingMessage, body: string, res: ServerResponse) => void;

describe('httpFetch', () => {
  let server: Server;
  let origin: string;
  let handler: Handler;
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string; socket: Socket }> = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; });
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body, socket: req.socket });
        handler(req, body, res);
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

  it('sends the method, headers and body as given, and answers with status, headers and body', async () => {
    handler = (_req, body, res) => res.writeHead(201, 'Made', { 'content-type': 'application/json', 'x-echo': 'a' }).end(JSON.stringify({ got: body }));
    const response = await httpFetch(`${origin}/mcp?q=1`, { method: 'POST', headers: new Headers({ 'Content-Type': 'application/json', 'X-Two': 'b' }), body: '{"é":1}' });
    assert.equal(response.status, 201);
    assert.equal(response.statusText, 'Made');
    assert.equal(response.headers.get('x-echo'), 'a');
    assert.deepEqual(await response.json(), { got: '{"é":1}' });
    assert.equal(seen[0]!.method, 'POST');
    assert.equal(seen[0]!.url, '/mcp?q=1');
    assert.equal(seen[0]!.headers['x-two'], 'b');
    assert.equal(seen[0]!.headers['content-length'], String(Buffer.byteLength('{"é":1}')));
  });

  it('hands on each part of a streamed answer as it arrives, before the stream ends', async () => {
    let finish: () => void = () => {};
    handler = (_req, _body, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      finish = () => res.end('data: last\n\n');
    };
    const response = await httpFetch(`${origin}/sse`, { method: 'POST', body: '{}' });
    const reader = response.body!.getReader();
    const first = await reader.read();
    assert.equal(Buffer.from(first.value!).toString(), 'data: first\n\n', 'the first event before the server ended the stream');
    finish();
    const rest = await reader.read();
    assert.equal(Buffer.from(rest.value!).toString(), 'data: last\n\n');
    assert.equal((await reader.read()).done, true);
  });

  it('never follows a redirect: the 3xx comes back with its location', async () => {
    handler = (_req, _body, res) => res.writeHead(302, { location: '/elsewhere' }).end();
    const response = await httpFetch(`${origin}/mcp`, { method: 'POST', body: '{}' });
    assert.equal(response.status, 302);
    assert.equal(response.headers.get('location'), '/elsewhere');
    assert.equal(seen.length, 1);
  });

  it('decodes a gzip body a server sent unasked', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip' }).end(gzipSync('{"ok":true}'));
    assert.deepEqual(await (await httpFetch(`${origin}/z`)).json(), { ok: true });
    assert.equal(seen[0]!.headers['accept-encoding'], undefined, 'it asks for no compression');
  });

  it('refuses a URL with credentials, as fetch does, and sends nothing', async () => {
    handler = (_req, _body, res) => res.end();
    await assert.rejects(httpFetch(`http://user:pw@127.0.0.1:${new URL(origin).port}/mcp`), /a URL with credentials cannot be requested/);
    assert.equal(seen.length, 0);
  });

  it('an abort rejects a request not yet answered, and errors a body being read', async () => {
    handler = () => {}; // never answers
    const early = new AbortController();
    const pending = httpFetch(`${origin}/hang`, { method: 'POST', body: '{}', signal: early.signal });
    while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    early.abort();
    await assert.rejects(pending, { name: 'AbortError' });

    handler = (_req, _body, res) => { res.writeHead(200, { 'content-type': 'text/event-stream' }); res.write('data: x\n\n'); };
    const late = new AbortController();
    const response = await httpFetch(`${origin}/open`, { signal: late.signal });
    const reader = response.body!.getReader();
    await reader.read();
    late.abort();
    await assert.rejects(reader.read(), { name: 'AbortError' });
  });

  it('leaves no listener on a signal shared by many requests once they end', async () => {
    handler = (_req, _body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    const shared = new AbortController();
    await Promise.all(Array.from({ length: 200 }, async () => (await httpFetch(`${origin}/mcp`, { method: 'POST', body: '{}', signal: shared.signal })).text()));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(getEventListeners(shared.signal, 'abort').length, 0);
  });

  it('sends a request again, once, when the kept-alive connection it went out on was reset; a fresh one is not retried', async () => {
    handler = (_req, _body, res) => res.end('one');
    assert.equal(await (await httpFetch(`${origin}/warm`)).text(), 'one');
    // The next request on that kept-alive socket finds it reset, as when the server's idle timeout strikes.
    let resets = 1;
    handler = (req, _body, res) => {
      if (resets-- > 0) req.socket.resetAndDestroy();
      else res.end('two');
    };
    assert.equal(await (await httpFetch(`${origin}/again`)).text(), 'two');
    assert.equal(seen.filter((s) => s.url === '/again').length, 2);
    assert.notEqual(seen.at(-1)!.socket, seen.at(-2)!.socket, 'the retry went out on a new connection');

    // A reset on a connection made for the request is an answer of sorts: it fails.
    server.closeAllConnections();
    await new Promise((resolve) => setTimeout(resolve, 50));
    handler = (req) => req.socket.resetAndDestroy();
    await assert.rejects(httpFetch(`${origin}/fresh`), { code: 'ECONNRESET' });
    assert.equal(seen.filter((s) => s.url === '/fresh').length, 1);
  });

  it('a refused connection fails with node\'s code, which the bridge reads as unreachable', async () => {
    const port = await freePort();
    const error = await httpFetch(`http://127.0.0.1:${port}/mcp`, { method: 'POST', body: '{}' }).then(() => undefined, (e: unknown) => e);
    const problem = networkError(error, { name: 'gone', url: `http://127.0.0.1:${port}/mcp` });
    assert.equal(problem?.code, 'REMOTE_UNREACHABLE');
    assert.equal(problem?.message, `server "gone": cannot reach http://127.0.0.1:${port}/mcp: connection refused (ECONNREFUSED)`);
  });
});
