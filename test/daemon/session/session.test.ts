/**
 * The session bridge against an in-memory client and fake server processes: what a client sees
 * when its server dies, comes back, or cannot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Session, type ClientLink } from '../../../daemon/session/session.js';
import { DEFAULT_BACKOFF, Instance } from '../../../daemon/supervisor/instance.js';
import { fakeStarter } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

class MemoryLink implements ClientLink {
  readonly sent: Array<Record<string, unknown>> = [];
  closed: { code: number; reason: string } | undefined;
  #onClose!: () => void;
  readonly whenClosed = new Promise<void>((resolve) => { this.#onClose = resolve; });
  paused = false;
  bufferedAmount = 0;
  #onSend: (() => void) | undefined;
  send(message: string): void {
    this.sent.push(JSON.parse(message) as Record<string, unknown>);
    this.#onSend?.();
  }
  onFlushed(callback: () => void): void { callback(); }
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  close(code: number, reason: string): void {
    this.closed = { code, reason };
    this.#onClose();
  }
  /** Resolves once `count` messages have been sent to the client. */
  async until(count: number): Promise<void> {
    while (this.sent.length < count) await new Promise<void>((resolve) => { this.#onSend = resolve; });
  }
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const request = (id: number | string, method: string, params: object = {}) => JSON.stringify({ jsonrpc: '2.0', id, method, params });

async function setup() {
  const clock = new ManualClock();
  const start = fakeStarter();
  const prepare = async () => ({ command: 'fake', args: [], env: {}, secrets: [], refs: [] });
  const instance = new Instance({ session: 's1', prepare, start, clock, backoff: { ...DEFAULT_BACKOFF, maxRestarts: 1 }, maxMessageBytes: 1 << 20 });
  const link = new MemoryLink();
  const log: string[] = [];
  let ended: string | undefined | null = null;
  const session = new Session({ id: 's1', server: 'srv', instance, link, client: undefined, log: (l) => log.push(l), note: () => {}, onEnd: (failure) => { ended = failure; } });
  await session.start();
  return { clock, start, instance, link, log, session, ended: () => ended, child: () => start.started.at(-1)! };
}

describe('session bridge', () => {
  it('passes each client message to the server as one line, even pretty-printed', async () => {
    const t = await setup();
    t.session.fromClient('{\n  "jsonrpc": "2.0",\n  "id": 1,\n  "method": "ping"\n}');
    await flush();
    assert.deepEqual(t.child().received, ['{"jsonrpc":"2.0","id":1,"method":"ping"}']);
  });

  it('answers a message that is not JSON with -32700 and passes nothing on', async () => {
    const t = await setup();
    t.session.fromClient('{"jsonrpc":');
    await flush();
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: mcpd received a message that is not JSON; it was not passed to the server' } }]);
    assert.deepEqual(t.child().received, []);
  });

  it('keeps non-JSON server output out of the client\'s stream and in the log', async () => {
    const t = await setup();
    t.child().stdout.write('debug: starting\n');
    t.child().say({ jsonrpc: '2.0', method: 'notifications/message', params: {} });
    await t.link.until(1);
    assert.equal(t.link.sent.length, 1);
    assert.deepEqual(t.log, ['[stdout, not JSON-RPC] debug: starting']);
  });

  it('after a crash: in-flight requests get errors; the new process gets the handshake replayed, then the held messages', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'initialize', { protocolVersion: '2025-06-18' }));
    t.child().say({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
    t.session.fromClient(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    t.session.fromClient(request(2, 'logging/setLevel', { level: 'debug' }));
    t.child().say({ jsonrpc: '2.0', id: 2, result: {} });
    t.session.fromClient(request(3, 'tools/call', { name: 'slow' }));
    await t.link.until(2);

    t.child().crash(9);
    await t.link.until(3);
    assert.deepEqual(t.link.sent[2], { jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'server "srv" exited (status 9) while handling this request; mcpd is restarting it' } });
    t.session.fromClient(request(4, 'tools/list'));
    t.clock.advance(DEFAULT_BACKOFF.initialMs);
    await flush();
    await flush();
    const replayed = t.child().received.map((l) => JSON.parse(l) as { id?: string | number; method: string });
    assert.deepEqual(replayed.map((m) => m.method), ['initialize', 'notifications/initialized', 'logging/setLevel', 'tools/list']);
    assert.match(String(replayed[0]!.id), /^mcpd-replay-\d+$/);

    t.child().say({ jsonrpc: '2.0', id: replayed[0]!.id!, result: { protocolVersion: '2025-06-18' } });
    t.child().say({ jsonrpc: '2.0', id: 4, result: { tools: [] } });
    await t.link.until(4);
    assert.deepEqual(t.link.sent.slice(3), [{ jsonrpc: '2.0', id: 4, result: { tools: [] } }], 'the replayed initialize\'s answer stays with mcpd');
  });

  it('a server that will not come back closes the session with 4000 + its status', async () => {
    const t = await setup();
    t.child().crash(2);
    await flush();
    t.clock.advance(DEFAULT_BACKOFF.initialMs);
    await flush();
    t.child().crash(2);
    await t.link.whenClosed;
    await flush(); // the instance's stop, then onEnd
    assert.equal(t.link.closed?.code, 4002);
    assert.match(t.link.closed!.reason, /it crashed 2 times/);
    assert.match(String(t.ended()), /it crashed 2 times/);
  });

  it('restart() and end() answer in-flight requests; end() closes the link and stops the server', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'tools/call'));
    await t.session.restart('mcpd restart');
    assert.deepEqual(t.link.sent[0], { jsonrpc: '2.0', id: 1, error: { code: -32603, message: 'server "srv" was restarted (mcpd restart) while handling this request' } });
    t.session.fromClient(request(2, 'tools/call'));
    await t.session.end(1001, 'the daemon is stopping');
    assert.deepEqual(t.link.sent[1], { jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'session closed by mcpd: the daemon is stopping' } });
    assert.deepEqual(t.link.closed, { code: 1001, reason: 'the daemon is stopping' });
    assert.ok(t.child().stopped);
    assert.equal(t.ended(), undefined, 'ended, not failed');
  });

  it('a server that stops reading pauses the client until it drains', async () => {
    const t = await setup();
    t.child().stdin.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 4 && !t.link.paused; i++) t.session.fromClient(request(i, 'ping', { big }));
    assert.ok(t.link.paused, 'reading from the client paused');
    t.child().stdin.resume();
    await new Promise((resolve) => t.child().stdin.once('drain', resolve));
    await flush();
    assert.equal(t.link.paused, false);
  });
});
