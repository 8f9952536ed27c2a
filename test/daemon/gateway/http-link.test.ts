/**
 * Which stream each server message goes on (HttpLink): a response by its id, progress by the
 * token its request carried, anything else to the latest request in flight, else the
 * standalone stream; and the order of sends and close. The sink records what the SDK's
 * transport would be handed (the e2e tests drive the real one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { HttpLink, type MessageSink } from '../../../daemon/gateway/http-link.js';

type Sent = { message: JSONRPCMessage; related: string | number | undefined };

function setup(): { link: HttpLink; sent: Sent[]; closed: () => boolean; sizes: WeakMap<object, number>; problems: unknown[] } {
  const sent: Sent[] = [];
  let closed = false;
  const sink: MessageSink = {
    send: async (message, options) => {
      await Promise.resolve();
      if (closed) throw new Error('sent after close');
      sent.push({ message, related: options?.relatedRequestId });
    },
    close: () => Promise.resolve(void (closed = true)),
  };
  const sizes = new WeakMap<object, number>();
  const problems: unknown[] = [];
  return { link: new HttpLink(sink, sizes, (e) => problems.push(e)), sent, closed: () => closed, sizes, problems };
}

const request = (id: number | string, token?: string): JSONRPCMessage => ({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: 'x', ...(token ? { _meta: { progressToken: token } } : {}) } });
const line = (message: object) => Buffer.from(JSON.stringify(message));
const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('HttpLink', () => {
  it('progress goes to the request whose token it carries, other notifications to the latest request in flight', async () => {
    const { link, sent } = setup();
    link.fromClient(request(1, 'p1'));
    link.fromClient(request(2));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: 1 } }));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/message', params: { level: 'info', data: 'x' } }));
    link.send(line({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} }));
    await tick();
    assert.deepEqual(sent.map((s) => s.related), [1, 2, 2]);
  });

  it('a response ends its request: later messages go to the one still in flight, then to the standalone stream', async () => {
    const { link, sent } = setup();
    link.fromClient(request(1, 'p1'));
    link.fromClient(request('two'));
    link.send(line({ jsonrpc: '2.0', id: 'two', result: {} }));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/message', params: {} }));
    link.send(line({ jsonrpc: '2.0', id: 1, result: {} }));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/progress', params: { progressToken: 'p1', progress: 9 } }));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/tools/list_changed' }));
    await tick();
    // Responses carry no related id: the transport routes them by their own.
    assert.deepEqual(sent.map((s) => s.related), [undefined, 1, undefined, undefined, undefined]);
  });

  it('notifications from the client are not requests in flight; numbers and strings are different ids', async () => {
    const { link, sent } = setup();
    link.fromClient({ jsonrpc: '2.0', method: 'notifications/initialized' });
    link.fromClient(request(1));
    link.send(line({ jsonrpc: '2.0', id: '1', result: {} }));
    link.send(line({ jsonrpc: '2.0', method: 'notifications/message', params: {} }));
    await tick();
    assert.deepEqual(sent.map((s) => s.related), [undefined, 1]);
  });

  it('a request the client cancelled is no longer in flight: what follows goes to the one before it', async () => {
    const { link, sent } = setup();
    link.fromClient(request(1));
    link.fromClient(request(2));
    link.fromClient({ jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 2 } });
    link.send(line({ jsonrpc: '2.0', method: 'notifications/message', params: {} }));
    await tick();
    assert.deepEqual(sent.map((s) => s.related), [1]);
  });

  it('a message in parts is sent whole, once, with its size as the server sent it', async () => {
    const { link, sent, sizes } = setup();
    const whole = line({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'x'.repeat(100) } });
    link.sendPart(whole.subarray(0, 40), false);
    link.sendPart(whole.subarray(40), true);
    await tick();
    assert.equal(sent.length, 1);
    assert.equal(sizes.get(sent[0]!.message), whole.length);
  });

  it('close waits for the sends before it (the errors for requests in flight), then closes the transport once', async () => {
    const { link, sent, closed, problems } = setup();
    let told = 0;
    link.onClosed = () => told++;
    link.fromClient(request(1));
    link.send('{"jsonrpc":"2.0","id":1,"error":{"code":-32603,"message":"session closed by mcpd"}}');
    link.close(1001, 'stopping');
    link.close(1001, 'again');
    link.send(line({ jsonrpc: '2.0', method: 'notifications/message', params: {} }));
    await tick();
    await tick();
    assert.equal(sent.length, 1, 'the error before the close went out; nothing after it');
    assert.ok(closed());
    assert.equal(told, 1);
    assert.deepEqual(problems, []);
  });

  it('paused (the server\'s stdin is full), requests wait for ready until resume or close', async () => {
    const { link } = setup();
    assert.equal(link.ready, undefined);
    link.pause();
    link.pause();
    let released = 0;
    void link.ready!.then(() => released++);
    await tick();
    assert.equal(released, 0);
    link.resume();
    await tick();
    assert.deepEqual([released, link.ready], [1, undefined]);
    link.pause();
    const waiting = link.ready!;
    link.close(1000, 'done');
    await waiting;
    assert.equal(link.ready, undefined, 'a closed link holds no request');
  });

  it('a server line that is not JSON is reported, not sent', async () => {
    const { link, sent, problems } = setup();
    link.send('not json');
    await tick();
    assert.equal(sent.length, 0);
    assert.equal(problems.length, 1);
  });
});
