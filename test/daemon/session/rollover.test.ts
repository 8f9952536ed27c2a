/**
 * Rollover against fake server processes and a manual clock: a session moved onto fresh values
 * while the client keeps talking, and what happens when the values did not change, the old
 * process is slow, the new one cannot start, or the server does not roll over.
 */
import assert from 'node:assert/strict';
import { setImmediate as turn } from 'node:timers/promises';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { PreparedLaunch } from '../../../daemon/launcher/launch-spec.js';
import type { Prepared, ServerInstance } from '../../../daemon/supervisor/server-instance.js';
import { WarmInstance } from '../../../daemon/supervisor/warm-instance.js';
import { CLOSE } from '../../../daemon/protocol.js';
import type { ClientLink } from '../../../daemon/session/client-link.js';
import { Session } from '../../../daemon/session/session.js';
import { DEFAULT_BACKOFF, Instance } from '../../../daemon/supervisor/instance.js';
import { type FakeProcess, fakeStarter, leaseRecorder } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Wire = { id?: string | number; method?: string; result?: unknown; error?: { code: number; message: string } };

/** The client's end, in memory. */
class Link implements ClientLink {
  readonly sent: Wire[] = [];
  closed: { code: number; reason: string } | undefined;
  readonly bufferedAmount = 0;
  #waiters: Array<{ count: number; resolve: () => void }> = [];
  send(message: Buffer | string): void {
    this.sent.push(JSON.parse(message.toString()) as Wire);
    for (const w of this.#waiters.filter((x) => this.sent.length >= x.count)) {
      this.#waiters.splice(this.#waiters.indexOf(w), 1);
      w.resolve();
    }
  }
  sendPart(): void { assert.fail('no long lines here'); }
  onFlushed(): void {}
  pause(): void {}
  resume(): void {}
  close(code: number, reason: string): void { this.closed = { code, reason }; }
  until(count: number): Promise<void> {
    if (this.sent.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }
}

const request = (id: number | string, method: string) => JSON.stringify({ jsonrpc: '2.0', id, method, params: {} });
const ids = (lines: string[]) => lines.map((l) => (JSON.parse(l) as Wire).id ?? (JSON.parse(l) as Wire).method);

async function setup(options: { enabled?: boolean; ttlMs?: number; pooledForMs?: number } = {}) {
  const clock = new ManualClock();
  const start = fakeStarter();
  const state = { token: 'v1' };
  const prepare = async (): Promise<PreparedLaunch> => ({ command: 'fake', args: [], env: { TOKEN: state.token, PATH: '/bin' }, secrets: [], refs: [], leases: [] });
  const newInstance = (given: Prepared | undefined) => new Instance({
    session: 's1', start, clock, keepLeases: leaseRecorder().keep, backoff: DEFAULT_BACKOFF, maxMessageBytes: 1 << 20,
    prepare: () => {
      const launch = given as PreparedLaunch | undefined;
      given = undefined;
      return launch ? Promise.resolve(launch) : prepare();
    },
  });
  const link = new Link();
  const notes: string[] = [];
  const discarded: Prepared[] = [];
  let onEnd!: (failure: string | undefined) => void;
  const ended = new Promise<string | undefined>((resolve) => { onEnd = resolve; });
  // A warm pool's instance: started pooledForMs before the session takes it.
  let instance: ServerInstance = newInstance(undefined);
  if (options.pooledForMs !== undefined) {
    const pooled = new WarmInstance(() => newInstance(undefined), { started() {}, stderr() {}, early() {}, crashed() {}, failed() {}, expiring() {} });
    await pooled.boot();
    clock.advance(options.pooledForMs);
    instance = pooled.take('s1');
  }
  const session = new Session({
    id: 's1', server: 'srv', instance, link, client: undefined, log: () => {}, note: (n) => notes.push(n), onEnd,
    roll: {
      prepare, newInstance, clock, backoff: { initialMs: 1000, maxMs: 8000 }, drainMs: 30_000, enabled: options.enabled ?? true, ttlMs: options.ttlMs,
      discard: async (launch) => { discarded.push(launch); },
    },
  });
  await session.start();
  const old = start.started[0]!;
  // The client's handshake, answered by the first process.
  session.fromClient(request(1, 'initialize'));
  old.say({ jsonrpc: '2.0', id: 1, result: { protocolVersion: '2025-06-18' } });
  await link.until(1);
  session.fromClient(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
  await old.receivedAtLeast(2);
  return { clock, start, state, link, notes, discarded, session, ended, old };
}

/** Answers the replayed initialize a new process got; resolves once the session can have acted on it. */
async function answerReplay(next: FakeProcess): Promise<void> {
  const [initialize] = await next.receivedAtLeast(2);
  const { id, method } = JSON.parse(initialize!) as Wire;
  assert.equal(method, 'initialize');
  assert.match(String(id), /^mcpd-replay-/);
  next.say({ jsonrpc: '2.0', id, result: { protocolVersion: '2025-06-18' } });
  // The answer travels a stream and a few promise steps; after two turns the roll is draining.
  await turn();
  await turn();
}

describe('session rollover', () => {
  it('a ttl counts from when a pooled process started, not from when the session took it', async () => {
    const t = await setup({ ttlMs: 8 * 3600_000, pooledForMs: 3 * 3600_000 });
    t.state.token = 'v2';
    t.clock.advance(5 * 3600_000 - 1);
    await turn();
    assert.equal(t.start.started.length, 1, 'nothing before the ttl');
    const next = t.start.next();
    t.clock.advance(1);
    assert.equal((await next).spec.env.TOKEN, 'v2', 'rolled 5 h after the take: 8 h after the process started');
  });

  it('a ttl rolls the session when it has passed, not before, and counts again from each roll', async () => {
    const t = await setup({ ttlMs: 8 * 3600_000 });
    t.state.token = 'v2';
    t.clock.advance(8 * 3600_000 - 1);
    await turn();
    assert.equal(t.start.started.length, 1, 'nothing before the ttl');
    const next = t.start.next();
    t.clock.advance(1);
    const fresh = await next;
    assert.equal(fresh.spec.env.TOKEN, 'v2', 'the new process has the fresh value');
    await answerReplay(fresh);
    for (let i = 0; i < 10 && !t.notes.some((n) => n.startsWith('rolled onto a new process')); i++) await turn();
    assert.ok(t.notes.some((n) => n.includes('its ttl of 28800 s has passed')), t.notes.join('\n'));
    assert.equal(t.session.instance.pid, fresh.pid);
    assert.equal(t.discarded.length, 0);
    t.clock.advance(8 * 3600_000);
    for (let i = 0; i < 10 && t.discarded.length === 0; i++) await turn();
    assert.equal(t.discarded.length, 1, 'the countdown started again after the roll: its next roll found the values unchanged');
    assert.equal(t.start.started.length, 2);
  });

  it('fresh values equal to the running ones: no new process, the launch given back, the log says so', async () => {
    const t = await setup();
    assert.equal(await t.session.roll('test'), 'unchanged');
    assert.equal(t.start.started.length, 1);
    assert.equal(t.discarded.length, 1);
    assert.ok(t.notes.some((n) => n.includes('equal the running ones')), t.notes.join('\n'));
  });

  it('in-flight requests are answered by the old process, held ones go to the new one in order, then the old one is shut down', async () => {
    const t = await setup();
    t.session.fromClient(request(2, 'tools/call'));
    await t.old.receivedAtLeast(3);
    t.state.token = 'v2';
    const next = t.start.next();
    const rolled = t.session.roll('test');
    const fresh = await next;
    assert.equal(fresh.spec.env.TOKEN, 'v2');
    await answerReplay(fresh);
    t.session.fromClient(request(3, 'ping'));
    t.session.fromClient(request(4, 'tools/list'));
    await turn();
    assert.deepEqual(ids(t.old.received), [1, 'notifications/initialized', 2], 'the old process gets no new request');
    assert.deepEqual(ids(fresh.received).slice(2), [], 'held until the switch');
    t.old.say({ jsonrpc: '2.0', id: 2, result: { from: 'old' } });
    assert.equal(await rolled, 'rolled');
    assert.deepEqual(t.link.sent.find((m) => m.id === 2)?.result, { from: 'old' });
    assert.deepEqual(ids(await fresh.receivedAtLeast(4)).slice(2), [3, 4]);
    assert.ok(t.old.stopped);
    assert.equal(t.session.instance.pid, fresh.pid);
    fresh.say({ jsonrpc: '2.0', id: 3, result: {} });
    await t.link.until(3);
    assert.deepEqual(t.link.sent.map((m) => m.id), [1, 2, 3], 'the client never saw the replayed answer');
  });

  it('requests from the server to the client in flight finish first, the client\'s answer reaching the old process', async () => {
    const t = await setup();
    t.old.say({ jsonrpc: '2.0', id: 'srv-1', method: 'sampling/createMessage', params: {} });
    await t.link.until(2);
    t.state.token = 'v2';
    const next = t.start.next();
    let done = false;
    const rolled = t.session.roll('test').then((outcome) => { done = true; return outcome; });
    await answerReplay(await next);
    assert.equal(done, false, 'waits for the client\'s answer');
    t.session.fromClient(JSON.stringify({ jsonrpc: '2.0', id: 'srv-1', result: { content: 'hi' } }));
    assert.equal(await rolled, 'rolled');
    assert.equal(ids(await t.old.receivedAtLeast(3)).at(-1), 'srv-1');
  });

  it('past the bound, requests the old process still holds get a JSON-RPC error and the roll goes on', async () => {
    const t = await setup();
    t.session.fromClient(request(2, 'tools/call'));
    t.state.token = 'v2';
    const next = t.start.next();
    const rolled = t.session.roll('test');
    const fresh = await next;
    await answerReplay(fresh);
    t.session.fromClient(request(3, 'ping'));
    t.clock.advance(30_000);
    assert.equal(await rolled, 'rolled');
    const error = t.link.sent.find((m) => m.id === 2)?.error;
    assert.equal(error?.code, -32603);
    assert.match(error.message, /server "srv" was rolled onto fresh values and its old process did not answer this request within 30 s/);
    assert.deepEqual(ids(await fresh.receivedAtLeast(3)).slice(2), [3]);
  });

  it('a new process that cannot start: the old one keeps serving, status says why, a retry follows after the backoff', async () => {
    const t = await setup();
    t.state.token = 'v2';
    t.start.fail = new McpdError('SPAWN_FAILED', 'cannot start "fake"');
    assert.equal(await t.session.roll('test'), 'retrying');
    assert.match(t.session.status().rollover ?? '', /cannot start "fake" \(attempt 1; next try in 1 s\)/);
    t.session.fromClient(request(2, 'ping'));
    assert.deepEqual(ids(await t.old.receivedAtLeast(3)).at(-1), 2, 'the old process still serves');
    const next = t.start.next();
    t.clock.advance(1000);
    const fresh = await next;
    await answerReplay(fresh);
    t.old.say({ jsonrpc: '2.0', id: 2, result: {} });
    await t.old.exited;
    await turn(); // the roll settles right after the old process is gone
    assert.equal(t.session.status().rollover, undefined);
    assert.equal(t.session.instance.pid, fresh.pid);
  });

  it('a new process that never answers initialize is given up after the bound, and tried again', async () => {
    const t = await setup();
    t.state.token = 'v2';
    const next = t.start.next();
    const rolled = t.session.roll('test');
    const silent = await next;
    await silent.receivedAtLeast(2);
    t.clock.advance(30_000);
    assert.equal(await rolled, 'retrying');
    assert.ok(silent.stopped);
    assert.match(t.session.status().rollover ?? '', /did not answer initialize within 30 s/);
    assert.equal(t.session.instance.pid, t.old.pid);
  });

  it('"rollover": false: the session is closed with the reason, so the host app reconnects', async () => {
    const t = await setup({ enabled: false });
    t.session.fromClient(request(2, 'tools/call'));
    assert.equal(await t.session.roll('the lease ends'), 'closed');
    assert.equal(t.link.closed?.code, CLOSE.serviceRestart);
    assert.match(t.link.closed?.reason ?? '', /server "srv" needs fresh values \(the lease ends\) and is configured "rollover": false; reconnect/);
    assert.equal(t.link.sent.find((m) => m.id === 2)?.error?.code, -32603);
    await t.ended;
    assert.ok(t.old.stopped);
  });
});
