/**
 * web-exchange.ts, between Node's http and the web-standard Response the SDK transport returns,
 * on a real loopback HTTP server: what the client receives, how many writes the socket makes
 * when an answer and the end come together, that a slow client stops the reading of the body,
 * and that a client going away cancels it (how the transport learns a stream is gone).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { type IncomingMessage, type Server, type ServerResponse, createServer, get } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { sendWebResponse, toWebRequest } from '../../../daemon/gateway/web-exchange.js';

type Handler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

describe('web-exchange', () => {
  let server: Server;
  let port: number;
  let handler: Handler;
  let done: Promise<unknown>;

  before(async () => {
    server = createServer((req, res) => { done = handler(req, res); });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  after(() => server.close());

  /** GET / and its whole answer, as the client received it. */
  function fetchText(headers: Record<string, string> = {}): Promise<{ status: number; headers: IncomingMessage['headers']; body: string }> {
    return new Promise((resolve, reject) => {
      get({ port, host: '127.0.0.1', path: '/mcp/x?y=1', headers, agent: false }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => { body += chunk; }).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      }).on('error', reject);
    });
  }

  it('the request carries the method, path and every header; status, headers and body reach the client', async () => {
    let seen: Request | undefined;
    handler = async (req, res) => {
      seen = toWebRequest(req);
      await sendWebResponse(new Response('event: message\ndata: {}\n\n', { status: 201, headers: { 'content-type': 'text/event-stream', 'mcp-session-id': 'abc' } }), res);
    };
    const got = await fetchText({ accept: 'text/event-stream', 'mcp-protocol-version': '2025-11-25' });
    assert.equal(seen?.method, 'GET');
    assert.equal(new URL(seen!.url).pathname + new URL(seen!.url).search, '/mcp/x?y=1');
    assert.equal(seen?.headers.get('accept'), 'text/event-stream');
    assert.equal(seen?.headers.get('mcp-protocol-version'), '2025-11-25');
    assert.equal(got.status, 201);
    assert.equal(got.headers['mcp-session-id'], 'abc');
    assert.equal(got.body, 'event: message\ndata: {}\n\n');
  });

  it('a response without a body ends at once', async () => {
    handler = (_req, res) => sendWebResponse(new Response(null, { status: 202 }), res);
    const got = await fetchText();
    assert.equal(got.status, 202);
    assert.equal(got.body, '');
  });

  it('chunks ready in one turn, and the end, leave in one socket write; a chunk that comes later is written when it comes', async () => {
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const writes: number[] = [];
    const encoder = new TextEncoder();
    handler = async (_req, res) => {
      const socket = res.socket as Socket & { _writev?: unknown; _write: unknown };
      for (const method of ['_write', '_writev'] as const) {
        const original = socket[method] as ((...args: unknown[]) => void) | undefined;
        if (!original) continue;
        socket[method] = function (this: Socket, ...args: unknown[]) {
          writes.push(method === '_writev' ? (args[0] as unknown[]).length : 1);
          return original.apply(this, args);
        };
      }
      const body = new ReadableStream<Uint8Array>({ start: (c) => { controller = c; } });
      controller.enqueue(encoder.encode('id: 1\ndata: \n\n'));
      await sendWebResponse(new Response(body, { headers: { 'content-type': 'text/event-stream' } }), res);
    };
    const answer = new Promise<string>((resolve, reject) => {
      get({ port, host: '127.0.0.1', agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
          // The priming event is here before anything else was enqueued: nothing held it back.
          if (text === 'id: 1\ndata: \n\n') {
            assert.equal(writes.length, 1, 'the head and the first chunk in one write');
            controller.enqueue(encoder.encode('id: 2\ndata: {"a":1}\n\n'));
            controller.close();
          }
        }).on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(await answer, 'id: 1\ndata: \n\nid: 2\ndata: {"a":1}\n\n');
    await done;
    assert.equal(writes.length, 2, `one write for the head and the priming chunk, one for the answer and the end (writes: ${JSON.stringify(writes)})`);
  });

  it('a client that does not read stops the reading of the body; one that goes away cancels it', async () => {
    let pulls = 0;
    let cancelled = false;
    const chunk = new Uint8Array(1024 * 1024).fill(120);
    handler = (_req, res) => sendWebResponse(new Response(new ReadableStream<Uint8Array>({
      pull: (c) => { pulls++; c.enqueue(chunk); },
      cancel: () => { cancelled = true; },
    }, { highWaterMark: 0 })), res);
    const request = get({ port, host: '127.0.0.1', agent: false });
    const [res] = (await once(request, 'response')) as [IncomingMessage];
    res.pause();
    // Long enough for an unbounded reader to pull hundreds of MiB; the socket's buffers hold a few.
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.ok(pulls < 32, `the body was read ahead of the client: ${pulls} MiB pulled`);
    request.destroy();
    await done;
    assert.equal(cancelled, true, 'the body was not cancelled when the client went away');
  });
});
