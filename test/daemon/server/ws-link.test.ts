/**
 * WebSocketLink over a real WebSocket on a Unix socket: a message sent in parts arrives as one
 * message, and whatever is sent while it is open (stderr, other messages) follows it, in order.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { WebSocket, WebSocketServer } from 'ws';
import { WebSocketLink } from '../../../daemon/server/ws-link.js';

type Received = { text: string } | { binary: string };

describe('WebSocketLink', () => {
  let dir: string;
  let server: Server;
  let links: Array<Promise<WebSocketLink>> = [];
  /** The link the next connection attaches to, when a test made it beforehand. */
  let early: WebSocketLink | undefined;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-link-'));
    const wss = new WebSocketServer({ noServer: true });
    server = createServer().on('upgrade', (req, socket: Duplex, head) => {
      links.push(new Promise((resolve) => wss.handleUpgrade(req, socket, head, (ws) => {
        const link = early ?? new WebSocketLink({ stderr: true });
        early = undefined;
        link.attach(ws, socket);
        resolve(link);
      })));
    });
    server.listen(join(dir, 's.sock'));
    await once(server, 'listening');
  });
  after(async () => {
    server.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function connect(): Promise<{ link: WebSocketLink; received: Received[]; until: (n: number) => Promise<void>; ws: WebSocket }> {
    links = [];
    const ws = new WebSocket(`ws+unix://${join(dir, 's.sock')}:/`);
    const received: Received[] = [];
    let waiter: { n: number; resolve: () => void } | undefined;
    ws.on('message', (data: Buffer, isBinary) => {
      received.push(isBinary ? { binary: data.toString() } : { text: data.toString() });
      if (waiter && received.length >= waiter.n) waiter.resolve();
    });
    await once(ws, 'open');
    const link = await links[0]!;
    const until = (n: number) => (received.length >= n ? Promise.resolve() : new Promise<void>((resolve) => { waiter = { n, resolve }; }));
    return { link, received, until, ws };
  }

  it('a message in parts is one message; stderr and messages sent meanwhile follow it in order', async () => {
    const { link, received, until, ws } = await connect();
    link.send('{"id":0}');
    link.sendPart(Buffer.from('{"id":1,'), false);
    link.sendStderr!('a stderr line');
    link.send(Buffer.from('{"id":2}'));
    link.sendPart(Buffer.from('"result":'), false);
    link.sendPart(Buffer.from('{}}'), true);
    link.send('{"id":3}');
    await until(5);
    assert.deepEqual(received, [
      { text: '{"id":0}' }, { text: '{"id":1,"result":{}}' }, { binary: 'a stderr line\n' }, { text: '{"id":2}' }, { text: '{"id":3}' },
    ]);
    ws.close();
  });

  it('closing in the middle of a message in parts ends it first, then sends what waited, then closes', async () => {
    const { link, received, ws } = await connect();
    const closed = once(ws, 'close');
    link.sendPart(Buffer.from('{"id":1,"result":"cut'), false);
    link.send('{"id":1,"error":{"code":-32603,"message":"gone"}}');
    link.close(1011, 'the server went away');
    const [code, reason] = await closed as [number, Buffer];
    assert.equal(code, 1011);
    assert.equal(reason.toString(), 'the server went away');
    assert.deepEqual(received, [{ text: '{"id":1,"result":"cut' }, { text: '{"id":1,"error":{"code":-32603,"message":"gone"}}' }]);
  });

  it('before the WebSocket is attached, parts and messages wait, in order', async () => {
    early = new WebSocketLink();
    early.sendPart(Buffer.from('{"a":'), false);
    early.send('{"b":2}');
    early.sendPart(Buffer.from('1}'), true);
    const { received, until, ws } = await connect();
    await until(2);
    assert.deepEqual(received, [{ text: '{"a":1}' }, { text: '{"b":2}' }]);
    ws.close();
  });
});
