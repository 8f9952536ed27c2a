/**
 * The session bridge against an in-memory client and fake server processes: what a client sees
 * when its server dies, comes back, or cannot.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import type { PreparedLaunch } from '../../../daemon/launcher/launch-spec.js';
import { PolicyGate } from '../../../daemon/policy/gate.js';
import { compilePolicy } from '../../../daemon/policy/policy.js';
import type { ClientLink } from '../../../daemon/session/client-link.js';
import { INPUT_DRAIN_MS, Session } from '../../../daemon/session/session.js';
import { DEFAULT_BACKOFF, Instance } from '../../../daemon/supervisor/instance.js';
import { type FakeProcess, fakeStarter, leaseRecorder } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Sent = Record<string, unknown>;

/** The client's end of the session, in memory: what it was sent, and how it was closed. */
class MemoryLink implements ClientLink {
  readonly sent: Sent[] = [];
  readonly stderrLines: string[] = [];
  closed: { code: number; reason: string } | undefined;
  closeCalls = 0;
  #onClose!: () => void;
  readonly whenClosed = new Promise<void>((resolve) => { this.#onClose = resolve; });
  paused = false;
  bufferedAmount = 0;
  /** The session's onFlushed callback, called by the test when it means the client caught up. */
  flushed: (() => void) | undefined;
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  /** The pieces of a message sent in parts, until its last; whole messages sent meanwhile wait, as in WebSocketLink. */
  parts: Buffer[] | undefined;
  #afterParts: string[] = [];
  /** How many parts each message sent in parts came in. */
  readonly partCounts: number[] = [];
  send(message: Buffer | string): void {
    if (this.parts) this.#afterParts.push(message.toString());
    else this.#received(message.toString());
  }
  sendPart(part: Buffer, last: boolean): void {
    (this.parts ??= []).push(part);
    if (!last) return;
    const text = Buffer.concat(this.parts).toString();
    this.partCounts.push(this.parts.length);
    this.parts = undefined;
    this.#received(text);
    for (const waiting of this.#afterParts.splice(0)) this.#received(waiting);
  }
  #received(text: string): void {
    let message: Sent;
    try {
      message = JSON.parse(text) as Sent;
    } catch {
      message = { cutOff: text.length };
    }
    this.sent.push(message);
    for (const waiter of this.#waiters.filter((w) => this.sent.length >= w.count)) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve();
    }
  }
  sendStderr(line: string): void { this.stderrLines.push(line); }
  onFlushed(callback: () => void): void { this.flushed = callback; }
  pause(): void { this.paused = true; }
  resume(): void { this.paused = false; }
  close(code: number, reason: string): void {
    this.closeCalls += 1;
    this.closed = { code, reason };
    this.#onClose();
  }
  /** Resolves once `count` messages in all have been sent to the client. */
  until(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

const request = (id: number | string, method: string, params: object = {}) => JSON.stringify({ jsonrpc: '2.0', id, method, params });
const notification = (method: string, params?: object) => JSON.stringify({ jsonrpc: '2.0', method, ...(params ? { params } : {}) });
type Wire = { id?: string | number; method?: string; params?: unknown };
const parse = (lines: string[]) => lines.map((l) => JSON.parse(l) as Wire);

/** The daemon's policy gate, with `tools` as the server's rule, auditing into `audit`. */
function policyGate(audit: AuditEvent[], tools?: { deny: string[] }): PolicyGate {
  const policy = compilePolicy(tools ? { tools } : {}, 'mcpServers.srv');
  return new PolicyGate({ policy: () => policy, audit: { record: (e) => audit.push(e) }, session: 's1', server: 'srv', now: () => 0 });
}

async function setup(options: { maxRestarts?: number; maxMessageBytes?: number; prepare?: () => Promise<PreparedLaunch>; gate?: PolicyGate } = {}) {
  const clock = new ManualClock();
  const start = fakeStarter();
  const prepare = options.prepare ?? (async () => ({ command: 'fake', args: [], env: {}, secrets: [], refs: [], leases: [] }));
  const instance = new Instance({
    session: 's1', prepare, start, clock, keepLeases: leaseRecorder().keep,
    backoff: { ...DEFAULT_BACKOFF, maxRestarts: options.maxRestarts ?? 1 },
    maxMessageBytes: options.maxMessageBytes ?? 1 << 20,
  });
  const link = new MemoryLink();
  const log: string[] = [];
  const notes: string[] = [];
  let onEnd!: (failure: string | undefined) => void;
  const ended = new Promise<string | undefined>((resolve) => { onEnd = resolve; });
  const session = new Session({ id: 's1', server: 'srv', instance, link, client: 'test-client', gate: options.gate, log: (l) => log.push(l), note: (n) => notes.push(n), onEnd, clock });
  await session.start();
  return { clock, start, instance, link, log, notes, session, ended, child: () => start.started.at(-1)! };
}

type Setup = Awaited<ReturnType<typeof setup>>;

/** Crashes the server and waits until the session has heard of it. */
async function crash(t: Setup, code: number): Promise<FakeProcess> {
  const child = t.child();
  child.crash(code);
  await child.exited; // the instance's own handler on this promise ran first
  assert.notEqual(t.instance.state, 'running');
  return child;
}

/** Lets the backoff run out and waits for the new process. */
async function backoffOver(t: Setup): Promise<FakeProcess> {
  const next = t.start.next();
  t.clock.advance(DEFAULT_BACKOFF.initialMs);
  return next;
}

/** A client that got as far as the MCP handshake and a log level, with a request still in flight. */
async function handshake(t: Setup): Promise<void> {
  t.session.fromClient(request(1, 'initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } }));
  t.child().say({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
  t.session.fromClient(notification('notifications/initialized'));
  t.session.fromClient(request(2, 'logging/setLevel', { level: 'debug' }));
  t.child().say({ jsonrpc: '2.0', id: 2, result: {} });
  await t.link.until(2);
  await t.child().receivedAtLeast(3);
}

describe('session bridge: messages', () => {
  it('passes each client message to the server as one line, even pretty-printed, in order', async () => {
    const t = await setup();
    t.session.fromClient('{\n  "jsonrpc": "2.0",\n  "id": 1,\n  "method": "ping"\n}');
    t.session.fromClient(notification('notifications/cancelled', { requestId: 1 }));
    assert.deepEqual(await t.child().receivedAtLeast(2), ['{"jsonrpc":"2.0","id":1,"method":"ping"}', '{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}']);
  });

  it('answers a message that is not JSON with -32700 and passes nothing on', async () => {
    const t = await setup();
    t.session.fromClient('{"jsonrpc":');
    t.session.fromClient(request(1, 'ping'));
    await t.child().receivedAtLeast(1);
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error: mcpd received a message that is not JSON; it was not passed to the server' } }]);
    assert.deepEqual(t.child().received, [request(1, 'ping')], 'only the valid message reached the server');
  });

  it('answers JSON that is not an object with -32600', async () => {
    const t = await setup();
    t.session.fromClient('42');
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: null, error: { code: -32600, message: 'Invalid Request: a JSON-RPC message is an object' } }]);
  });

  it('passes server messages to the client, and keeps non-JSON server output in the log', async () => {
    const t = await setup();
    t.child().stdout.write('debug: starting\n');
    t.child().say({ jsonrpc: '2.0', method: 'notifications/message', params: {} });
    await t.link.until(1);
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', method: 'notifications/message', params: {} }]);
    assert.deepEqual(t.log, ['[stdout, not JSON-RPC] debug: starting']);
  });

  it('sends the server\'s stderr to the log and to a client that asked for it', async () => {
    const t = await setup();
    t.child().say({ jsonrpc: '2.0', method: 'notifications/message', params: {} });
    t.child().stderr.write('listening\n');
    t.child().say({ jsonrpc: '2.0', method: 'notifications/progress', params: {} });
    await t.link.until(2);
    assert.deepEqual(t.log, ['listening']);
    assert.deepEqual(t.link.stderrLines, ['listening']);
  });
});

describe('session bridge: a server that crashes', () => {
  it('answers every request in flight with an error naming the server, and nothing else', async () => {
    const t = await setup();
    await handshake(t);
    t.session.fromClient(request(3, 'tools/call', { name: 'slow' }));
    t.session.fromClient(request('abc', 'resources/read', { uri: 'x' }));
    t.session.fromClient(notification('notifications/progress'));
    await t.child().receivedAtLeast(6);
    await crash(t, 9);
    await t.link.until(4);
    const message = 'server "srv" exited (status 9) while handling this request; mcpd is restarting it';
    assert.deepEqual(t.link.sent.slice(2), [
      { jsonrpc: '2.0', id: 3, error: { code: -32603, message } },
      { jsonrpc: '2.0', id: 'abc', error: { code: -32603, message } },
    ], 'one error per request in flight; answered requests and notifications get none');
    assert.deepEqual(t.notes, ['server exited with status 9']);
  });

  it('replays the handshake to the new process before the messages held while it was down', async () => {
    const t = await setup();
    await handshake(t);
    t.session.fromClient(request(3, 'resources/subscribe', { uri: 'file:///a' }));
    t.child().say({ jsonrpc: '2.0', id: 3, result: {} });
    await t.link.until(3);
    const first = await crash(t, 9);

    t.session.fromClient(request(4, 'tools/list'));
    t.session.fromClient(notification('notifications/roots/list_changed'));
    t.session.fromClient(request(5, 'prompts/list'));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(first.received.length, 4, 'nothing written to the dead process');

    const second = await backoffOver(t);
    const lines = parse(await second.receivedAtLeast(7));
    assert.deepEqual(lines.map((m) => m.method), [
      'initialize', 'notifications/initialized', 'logging/setLevel', 'resources/subscribe',
      'tools/list', 'notifications/roots/list_changed', 'prompts/list',
    ]);
    assert.match(String(lines[0]!.id), /^mcpd-replay-\d+$/);
    assert.deepEqual(lines[0]!.params, { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'c', version: '1' } }, 'the client\'s own initialize');
    assert.deepEqual(lines[2]!.params, { level: 'debug' });
    assert.deepEqual(lines[3]!.params, { uri: 'file:///a' });
    assert.deepEqual(lines.slice(4).map((m) => m.id), [4, undefined, 5], 'held messages keep their ids and order');
    assert.equal(t.link.sent.length, 3, 'the client was told nothing of the restart');
  });

  it('keeps the answers to replayed requests from the client, and passes the others', async () => {
    const t = await setup();
    await handshake(t);
    await crash(t, 9);
    t.session.fromClient(request(4, 'tools/list'));
    const second = await backoffOver(t);
    const lines = parse(await second.receivedAtLeast(4));
    for (const replayed of lines.slice(0, 3)) {
      if (replayed.id !== undefined) second.say({ jsonrpc: '2.0', id: replayed.id, result: { replayed: replayed.method } });
    }
    second.say({ jsonrpc: '2.0', id: 4, result: { tools: [] } });
    await t.link.until(3);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(t.link.sent.slice(2), [{ jsonrpc: '2.0', id: 4, result: { tools: [] } }], 'the client already had its answers to initialize and logging/setLevel');
  });

  it('a client that never initialized gets nothing replayed, only its held messages', async () => {
    const t = await setup();
    await crash(t, 1);
    t.session.fromClient(request(1, 'ping'));
    const second = await backoffOver(t);
    assert.deepEqual(await second.receivedAtLeast(1), [request(1, 'ping')]);
  });

  it('a server that will not come back closes the session with 4000 + its status', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'tools/call'));
    await crash(t, 2);
    await backoffOver(t);
    t.child().crash(2);
    await t.link.whenClosed;
    const failure = await t.ended;
    assert.equal(t.link.closed?.code, 4002);
    assert.match(t.link.closed!.reason, /^it crashed 2 times without running 30 s \(last: exited with status 2\)$/);
    assert.equal(failure, t.link.closed!.reason, 'onEnd hears why');
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.link.sent.length, 1, 'the one request had its error at the first crash');
  });

  it('a server that gives up without an exit status closes the session with 1011', async () => {
    const t = await setup({ maxMessageBytes: 32 });
    t.session.fromClient(request(7, 'tools/call'));
    await t.child().receivedAtLeast(1);
    t.child().stdout.write(`${'x'.repeat(40)}\n`);
    await t.link.whenClosed;
    const failure = await t.ended;
    assert.deepEqual(t.link.closed, { code: 1011, reason: 'the server sent a message longer than 32 bytes (the limit is daemon.maxMessageBytes)' });
    assert.equal(failure, t.link.closed!.reason);
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 7, error: { code: -32603, message: `session closed by mcpd: ${failure}` } }]);
    assert.ok(t.child().stopped);
    assert.equal(t.instance.state, 'stopped');
  });
});

describe('session bridge: restart and end', () => {
  it('restart() answers requests in flight, then the new process gets the handshake', async () => {
    const t = await setup();
    await handshake(t);
    t.session.fromClient(request(3, 'tools/call'));
    const first = t.child();
    await first.receivedAtLeast(4);
    await t.session.restart('mcpd restart');
    assert.deepEqual(t.link.sent[2], { jsonrpc: '2.0', id: 3, error: { code: -32603, message: 'server "srv" was restarted (mcpd restart) while handling this request' } });
    assert.ok(first.stopped);
    assert.notEqual(t.child(), first);
    assert.deepEqual(parse(await t.child().receivedAtLeast(3)).map((m) => m.method), ['initialize', 'notifications/initialized', 'logging/setLevel']);
  });

  it('restart() while the server is down sends the held requests to the new process, without errors', async () => {
    const t = await setup();
    await crash(t, 1);
    t.session.fromClient(request(1, 'tools/call'));
    await t.session.restart('mcpd restart');
    assert.equal(t.instance.state, 'running');
    assert.deepEqual(await t.child().receivedAtLeast(1), [request(1, 'tools/call')]);
    t.child().say({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    await t.link.until(1);
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 1, result: { ok: true } }], 'one answer, the server\'s');
  });

  it('restart() while the restarted server resolves its references sends the held requests on, without errors', async () => {
    let gate: Promise<void> = Promise.resolve();
    const prepare = async () => {
      await gate;
      return { command: 'fake', args: [], env: {}, secrets: [], refs: [], leases: [] };
    };
    const t = await setup({ prepare });
    await crash(t, 1);
    let open!: () => void;
    gate = new Promise((resolve) => { open = resolve; });
    const next = backoffOver(t);
    assert.equal(t.instance.state, 'starting');
    t.session.fromClient(request(1, 'tools/call'));
    await t.session.restart('mcpd restart');
    open();
    const second = await next;
    assert.deepEqual(await second.receivedAtLeast(1), [request(1, 'tools/call')]);
    second.say({ jsonrpc: '2.0', id: 1, result: { ok: true } });
    await t.link.until(1);
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 1, result: { ok: true } }]);
  });

  it('end() answers requests in flight, closes the link and stops the server', async () => {
    const t = await setup();
    t.session.fromClient(request(2, 'tools/call'));
    await t.session.end(1001, 'the daemon is stopping');
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 2, error: { code: -32603, message: 'session closed by mcpd: the daemon is stopping' } }]);
    assert.deepEqual(t.link.closed, { code: 1001, reason: 'the daemon is stopping' });
    assert.ok(t.child().stopped);
    assert.equal(t.instance.state, 'stopped');
    assert.equal(await t.ended, undefined, 'ended, not failed');
    await t.session.end(1000, 'again');
    assert.equal(t.link.closeCalls, 1, 'a second end() does nothing');
  });

  it('a client that goes away stops the server, without closing the link again', async () => {
    const t = await setup();
    await t.session.clientClosed();
    assert.ok(t.child().stopped);
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.link.closeCalls, 0);
    assert.equal(await t.ended, undefined);
  });
});

describe('session bridge: backpressure', () => {
  it('a server that stops reading pauses the client until it drains', async () => {
    const t = await setup();
    t.child().stdin.pause();
    const big = 'x'.repeat(64 * 1024);
    for (let i = 0; i < 4 && !t.link.paused; i++) t.session.fromClient(request(i, 'ping', { big }));
    assert.ok(t.link.paused, 'reading from the client paused');
    const drained = new Promise((resolve) => t.child().stdin.once('drain', resolve));
    t.child().stdin.resume();
    await drained;
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(t.link.paused, false);
  });

  it('a client that reads slowly pauses the server\'s output until it catches up', async () => {
    const t = await setup();
    t.link.bufferedAmount = 2 * 1024 * 1024;
    t.child().say({ jsonrpc: '2.0', method: 'notifications/message', params: {} });
    await t.link.until(1);
    assert.ok(t.child().stdout.isPaused(), 'server stdout paused');
    assert.ok(t.link.flushed, 'waiting for the client to catch up');
    t.link.bufferedAmount = 0;
    t.link.flushed();
    assert.equal(t.child().stdout.isPaused(), false, 'resumed once flushed');
  });
});

describe('session bridge: long server messages, passed on as they arrive', () => {
  const text = 'x'.repeat(200 * 1024);
  const long = (id: number | string) => JSON.stringify({ jsonrpc: '2.0', id, result: { content: [{ type: 'text', text }] } });

  /** Writes `line` to the fake server's stdout in 64 KiB writes, without its newline. */
  function writeInPieces(child: FakeProcess, line: string): void {
    for (let at = 0; at < line.length; at += 64 * 1024) child.stdout.write(line.slice(at, at + 64 * 1024));
  }

  it('a long response reaches the client in parts before its end is written, and whole; its request is answered', async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    t.session.fromClient(request(1, 'tools/call'));
    await t.child().receivedAtLeast(1);
    writeInPieces(t.child(), long(1));
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(t.link.parts && t.link.parts.length > 1, 'parts were passed on before the line ended');
    t.child().stdout.write('\n');
    await t.link.until(1);
    assert.deepEqual(t.link.sent, [JSON.parse(long(1))]);
    assert.ok(t.link.partCounts[0]! > 1);
    await crash(t, 1);
    assert.equal(t.link.sent.length, 1, 'no error for the answered request at the crash');
  });

  it('a long line whose id comes after its result (as the MCP SDK writes answers) is passed on in parts too, and answers its request', async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    t.session.fromClient(request(2, 'tools/call'));
    const line = JSON.stringify({ result: { content: [{ type: 'text', text }] }, jsonrpc: '2.0', id: 2 });
    writeInPieces(t.child(), line);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(t.link.parts && t.link.parts.length > 1, 'parts were passed on before the id was known');
    t.child().stdout.write('\n');
    await t.link.until(1);
    assert.deepEqual(t.link.sent, [JSON.parse(line)]);
    await crash(t, 1);
    assert.equal(t.link.sent.length, 1, 'the request was answered: no error for it at the crash');
  });

  it('a long tool result is audited with its outcome, read from its bytes, whichever side of the result its id is on', async () => {
    const audit: AuditEvent[] = [];
    const t = await setup({ maxMessageBytes: 1 << 22, gate: policyGate(audit) });
    const answers = [
      JSON.stringify({ jsonrpc: '2.0', id: 1, result: { content: [{ type: 'text', text }] } }),
      JSON.stringify({ result: { content: [{ type: 'text', text }], isError: true }, jsonrpc: '2.0', id: 2 }),
      JSON.stringify({ jsonrpc: '2.0', id: 3, result: { isError: false, content: [{ type: 'text', text: `"isError":true ${text}` }] } }),
      JSON.stringify({ jsonrpc: '2.0', id: 4, error: { code: -32000, message: 'failed', data: text } }),
    ];
    for (const [i, answer] of answers.entries()) {
      t.session.fromClient(JSON.stringify({ jsonrpc: '2.0', id: i + 1, method: 'tools/call', params: { name: `tool${i + 1}`, arguments: {} } }));
      writeInPieces(t.child(), `${answer}\n`);
      await t.link.until(i + 1);
    }
    assert.deepEqual(t.link.sent, answers.map((a) => JSON.parse(a) as Sent));
    assert.ok(t.link.partCounts.length === 4 && t.link.partCounts.every((n) => n > 1), 'each passed on in parts');
    assert.deepEqual(audit.map((e) => e.event === 'tool.call' && [e.tool, e.outcome]), [['tool1', 'ok'], ['tool2', 'tool-error'], ['tool3', 'ok'], ['tool4', 'error']]);
  });

  it('a long line that does not say what it answers is held whole while a list the policy filters is in flight, and filtered', async () => {
    const audit: AuditEvent[] = [];
    const t = await setup({ maxMessageBytes: 1 << 22, gate: policyGate(audit, { deny: ['secret-*'] }) });
    t.session.fromClient(request(1, 'tools/list'));
    const tools = [{ name: 'secret-tool', description: text }, { name: 'open-tool', description: text }];
    const line = JSON.stringify({ result: { tools }, jsonrpc: '2.0', id: 1 });
    writeInPieces(t.child(), line);
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(t.link.parts, undefined, 'nothing passed on before the whole list is in');
    t.child().stdout.write('\n');
    await t.link.until(1);
    assert.deepEqual((t.link.sent[0] as { result: { tools: Array<{ name: string }> } }).result.tools.map((tool) => tool.name), ['open-tool']);
  });

  it('a server that dies in the middle of a long response: the message ends cut off, then the request gets its error', async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    t.session.fromClient(request(3, 'tools/call'));
    t.session.fromClient(request(4, 'ping'));
    t.child().stderr.write('dying\n');
    writeInPieces(t.child(), long(3).slice(0, 150 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    t.child().stdout.end();
    await crash(t, 9);
    await t.link.until(3);
    const message = 'server "srv" exited (status 9) while handling this request; mcpd is restarting it';
    assert.deepEqual(t.link.sent, [
      { cutOff: 150 * 1024 },
      { jsonrpc: '2.0', id: 3, error: { code: -32603, message } },
      { jsonrpc: '2.0', id: 4, error: { code: -32603, message } },
    ]);
  });

  it('restart() in the middle of a long response ends it cut off before the errors', async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    t.session.fromClient(request(5, 'tools/call'));
    writeInPieces(t.child(), long(5).slice(0, 100 * 1024));
    await new Promise((resolve) => setImmediate(resolve));
    await t.session.restart('mcpd restart');
    assert.deepEqual(t.link.sent, [
      { cutOff: 100 * 1024 },
      { jsonrpc: '2.0', id: 5, error: { code: -32603, message: 'server "srv" was restarted (mcpd restart) while handling this request' } },
    ]);
  });

  it('a long line over the size limit, already partly passed on, ends cut off and closes the session with 1011', async () => {
    const t = await setup({ maxMessageBytes: 150 * 1024 });
    t.session.fromClient(request(6, 'tools/call'));
    writeInPieces(t.child(), long(6));
    await t.link.whenClosed;
    assert.equal(t.link.closed?.code, 1011);
    assert.deepEqual(t.link.sent.map((m) => Object.keys(m)), [['cutOff'], ['jsonrpc', 'id', 'error']]);
  });

  // The id last, as the MCP SDK writes answers (held whole while a replayed request is unanswered), or first.
  const replayedAnswers = {
    'its id after the result': (id: string | number) => JSON.stringify({ result: { content: [{ type: 'text', text }] }, jsonrpc: '2.0', id }),
    'its id first': long,
  };
  for (const [order, answer] of Object.entries(replayedAnswers)) it(`a long answer to a replayed request, ${order}, is kept from the client`, async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    await handshake(t);
    await crash(t, 9);
    t.session.fromClient(request(7, 'ping'));
    const second = await backoffOver(t);
    const lines = parse(await second.receivedAtLeast(4));
    writeInPieces(second, answer(lines[0]!.id!));
    second.stdout.write('\n');
    second.say({ jsonrpc: '2.0', id: 7, result: {} });
    await t.link.until(3);
    assert.deepEqual(t.link.sent.slice(2), [{ jsonrpc: '2.0', id: 7, result: {} }]);
    assert.deepEqual(t.link.partCounts, [], 'nothing of the replayed answer was sent');
  });

  it('a long client message is passed to the server untouched, a pretty-printed one as one line', async () => {
    const t = await setup({ maxMessageBytes: 1 << 22 });
    const big = JSON.stringify({ jsonrpc: '2.0', id: 8, method: 'tools/call', params: { name: 'echo', arguments: { text, quote: 'a"b\\', id: 99 } } });
    t.session.fromClient(Buffer.from(big));
    t.session.fromClient(JSON.stringify(JSON.parse(big), null, 2));
    assert.deepEqual(await t.child().receivedAtLeast(2), [big, big]);
  });
});


describe('session bridge: a stream whose input ended', () => {
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('closes the session (1000) right after the last answer the client is owed, and not before', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'ping'));
    t.session.fromClient(request('two', 'tools/call', { name: 'slow' }));
    t.session.fromClient(notification('notifications/progress'));
    await t.child().receivedAtLeast(3);
    t.session.inputEnded();
    t.child().say({ jsonrpc: '2.0', id: 1, result: {} });
    await t.link.until(1);
    await turn();
    assert.equal(t.link.closed, undefined, 'closed with a request still in flight');
    t.child().say({ jsonrpc: '2.0', id: 'two', result: { content: [] } });
    await t.link.whenClosed;
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 1, result: {} }, { jsonrpc: '2.0', id: 'two', result: { content: [] } }]);
    assert.deepEqual(t.link.closed, { code: 1000, reason: 'stdin closed' });
  });

  it('closes at once when nothing is in flight', async () => {
    const t = await setup();
    t.session.fromClient(notification('notifications/initialized'));
    t.session.inputEnded();
    await t.link.whenClosed;
    assert.deepEqual(t.link.closed, { code: 1000, reason: 'stdin closed' });
  });

  it('a request never answered: the session closes after INPUT_DRAIN_MS with the code and reason given, not before', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'tools/call', { name: 'hangs' }));
    await t.child().receivedAtLeast(1);
    t.session.inputEnded(1009, 'a message on stdin is longer than 4096 bytes (daemon.maxMessageBytes)');
    t.clock.advance(INPUT_DRAIN_MS - 1);
    await turn();
    assert.equal(t.link.closed, undefined, 'closed before its bound');
    t.clock.advance(1);
    await t.link.whenClosed;
    assert.deepEqual(t.link.closed, { code: 1009, reason: 'a message on stdin is longer than 4096 bytes (daemon.maxMessageBytes)' });
    assert.deepEqual(t.link.sent, [], 'the unanswered request got nothing from the close itself');
  });

  it('a session ended while it waits holds no timer, and closes the link once', async () => {
    const t = await setup();
    t.session.fromClient(request(1, 'tools/call', { name: 'hangs' }));
    await t.child().receivedAtLeast(1);
    const before = t.clock.pending;
    t.session.inputEnded();
    assert.equal(t.clock.pending, before + 1);
    await t.session.end(1001, 'the daemon is stopping');
    assert.equal(t.clock.pending, before);
    t.clock.advance(INPUT_DRAIN_MS);
    await turn();
    assert.equal(t.link.closeCalls, 1);
    assert.deepEqual(t.link.closed, { code: 1001, reason: 'the daemon is stopping' });
  });

  it('a server that dies with requests in flight: their errors reach the client, then the close', async () => {
    const t = await setup();
    t.session.fromClient(request(7, 'tools/call', { name: 'slow' }));
    await t.child().receivedAtLeast(1);
    t.session.inputEnded();
    await crash(t, 3);
    await t.link.whenClosed;
    assert.deepEqual(t.link.sent, [{ jsonrpc: '2.0', id: 7, error: { code: -32603, message: 'server "srv" exited (status 3) while handling this request; mcpd is restarting it' } }]);
    assert.deepEqual(t.link.closed, { code: 1000, reason: 'stdin closed' });
  });
});
