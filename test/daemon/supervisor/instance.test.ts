/**
 * The supervisor's state machine against fake processes and a manual clock: the whole
 * restart schedule (5 s doubling to 60 s, reset after 30 s stable, failed after 5) runs in
 * milliseconds, and every step waits on the event it expects.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { ExitInfo } from '../../../daemon/launcher/child.js';
import type { PreparedLaunch } from '../../../daemon/launcher/launch-spec.js';
import { type BackoffPolicy, DEFAULT_BACKOFF, Instance, type InstanceListener } from '../../../daemon/supervisor/instance.js';
import { fakeStarter, leaseRecorder } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Event = { kind: keyof InstanceListener; detail?: unknown; info?: ExitInfo | undefined };

/** Records what the instance tells its session, and lets a test wait for the next event of a kind. */
class Recorder implements InstanceListener {
  readonly events: Event[] = [];
  #waiters: Array<{ kind: string; resolve: (e: Event) => void }> = [];
  message = (line: Buffer) => this.#push({ kind: 'message', detail: line.toString() });
  stderr = (line: string) => this.#push({ kind: 'stderr', detail: line });
  started = (restart: boolean) => this.#push({ kind: 'started', detail: restart });
  crashed = (info: ExitInfo) => this.#push({ kind: 'crashed', detail: info });
  failed = (reason: string, info: ExitInfo | undefined) => this.#push({ kind: 'failed', detail: reason, info });
  drain = () => this.#push({ kind: 'drain' });
  expiring = (reason: string) => this.#push({ kind: 'expiring', detail: reason });

  next(kind: Event['kind']): Promise<Event> {
    return new Promise((resolve) => this.#waiters.push({ kind, resolve }));
  }

  count(kind: Event['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
  }

  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }

  #push(event: Event): void {
    this.events.push(event);
    const waiter = this.#waiters.find((w) => w.kind === event.kind);
    if (waiter) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    }
  }
}

interface SetupOptions {
  maxMessageBytes?: number;
  backoff?: Partial<BackoffPolicy>;
  prepare?: () => Promise<PreparedLaunch>;
  clockStart?: number;
}

function setup(options: SetupOptions = {}) {
  const clock = new ManualClock(options.clockStart);
  const start = fakeStarter();
  const keeper = leaseRecorder();
  /** prepare and spawn calls, in order. */
  const calls: string[] = [];
  let prepared = 0;
  const prepare = options.prepare ?? (async () => {
    prepared += 1;
    return { command: 'fake', args: [], env: { GENERATION: String(prepared) }, secrets: [], refs: [], leases: [] };
  });
  start.onStart = () => calls.push('start');
  const instance = new Instance({
    session: 's1',
    prepare: () => {
      calls.push('prepare');
      return prepare();
    },
    start,
    keepLeases: keeper.keep,
    clock,
    backoff: { ...DEFAULT_BACKOFF, ...options.backoff },
    maxMessageBytes: options.maxMessageBytes ?? 1024,
  });
  return { clock, start, instance, calls, keeper, listener: new Recorder(), prepared: () => prepared, child: () => start.started.at(-1)! };
}

type Setup = ReturnType<typeof setup>;

/** Crashes the current process and waits until the instance has scheduled its restart. */
async function crash(t: Setup, code = 3): Promise<ExitInfo> {
  const crashed = t.listener.next('crashed');
  t.child().crash(code);
  return (await crashed).detail as ExitInfo;
}

/** Advances the clock to just before, then to, the expected delay: the restart happens exactly then. */
async function restartsAfter(t: Setup, delayMs: number): Promise<void> {
  const before = t.start.started.length;
  t.clock.advance(delayMs - 1);
  assert.equal(t.instance.state, 'restarting');
  assert.equal(t.start.started.length, before, `nothing restarts before ${delayMs} ms`);
  const started = t.listener.next('started');
  t.clock.advance(1);
  assert.equal((await started).detail, true, 'started(restart = true)');
  assert.equal(t.instance.state, 'running');
  assert.equal(t.start.started.length, before + 1);
}

/** A promise the test settles by hand. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej; });
  return { promise, resolve, reject };
}

/** Whether `promise` has settled once the current callbacks have run. */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  void promise.then(() => { done = true; }, () => { done = true; });
  await new Promise((resolve) => setImmediate(resolve));
  return done;
}

const isInternal = (pattern: RegExp) => (error: unknown) => error instanceof McpdError && error.code === 'INTERNAL' && pattern.test(error.message);

describe('supervisor instance: starting', () => {
  it('resolves the launch, then spawns with piped stdio, then runs', async () => {
    const t = setup();
    assert.equal(t.instance.state, 'stopped');
    await t.instance.start(t.listener);
    assert.deepEqual(t.calls, ['prepare', 'start']);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.start.started.length, 1);
    assert.equal(t.child().spec.env.GENERATION, '1');
    assert.equal(t.child().options?.stdin, 'pipe');
    assert.equal(t.child().options?.stdout, 'pipe');
    assert.equal(t.instance.pid, t.child().pid);
    assert.deepEqual(t.listener.events, [{ kind: 'started', detail: false }]);
  });

  it('a first start whose references fail rejects with that McpdError, spawns nothing and ends failed', async () => {
    const error = new McpdError('SECRET_NOT_FOUND', '${secret:x}: no such secret');
    const t = setup({ prepare: () => Promise.reject(error) });
    await assert.rejects(t.instance.start(t.listener), (thrown: unknown) => {
      assert.equal(thrown, error, 'the very error prepare() rejected with');
      assert.equal((thrown as McpdError).code, 'SECRET_NOT_FOUND');
      return true;
    });
    assert.equal(t.instance.state, 'failed');
    assert.deepEqual(t.calls, ['prepare']);
    assert.equal(t.start.started.length, 0, 'nothing spawned');
    assert.deepEqual(t.listener.events, [], 'a refused start is reported by the rejection only');
    assert.equal(t.clock.pending, 0, 'and no restart is scheduled');
  });

  it('a first start whose spawn fails rejects with SPAWN_FAILED and ends failed', async () => {
    const t = setup();
    t.start.fail = new McpdError('SPAWN_FAILED', 'cannot start fake: no such command');
    await assert.rejects(t.instance.start(t.listener), { code: 'SPAWN_FAILED', message: 'cannot start fake: no such command' });
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.clock.pending, 0);
  });

  it('start() on an instance that is already running is an illegal transition (INTERNAL)', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await assert.rejects(t.instance.start(t.listener), isInternal(/^server instance s1: no transition from running to starting$/));
    assert.equal(t.instance.state, 'running', 'the refused transition changed nothing');
    assert.equal(t.start.started.length, 1);
  });

  it('start() on a failed instance is an illegal transition (INTERNAL): it must be stopped first', async () => {
    const t = setup({ prepare: () => Promise.reject(new McpdError('SECRET_NOT_FOUND', 'no such secret')) });
    await assert.rejects(t.instance.start(t.listener), { code: 'SECRET_NOT_FOUND' });
    await assert.rejects(t.instance.start(t.listener), isInternal(/no transition from failed to starting/));
    await t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
  });
});

describe('supervisor instance: crash restarts', () => {
  it('a crash is reported, and restarted exactly 5 s later', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const info = await crash(t, 3);
    assert.deepEqual(info, { code: 3, signal: null, exitCode: 3 });
    assert.equal(t.instance.state, 'restarting');
    assert.equal(t.instance.pid, undefined);
    assert.equal(t.clock.pending, 1);
    await restartsAfter(t, 5000);
    assert.deepEqual(t.listener.kinds(), ['started', 'crashed', 'started']);
  });

  it('restarts a crash after 5 s, 10 s, 20 s, 40 s, 60 s, each with fresh values, then fails the sixth', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    for (const delay of [5000, 10_000, 20_000, 40_000, 60_000]) {
      await crash(t);
      await restartsAfter(t, delay);
      assert.equal(t.child().spec.env.GENERATION, String(t.prepared()), 'resolved again for the new process');
    }
    assert.equal(t.prepared(), 6);
    assert.deepEqual(t.calls, Array(6).fill(['prepare', 'start']).flat(), 'prepare() before every spawn');
    assert.equal(t.instance.status().restarts, 5);
    const failed = t.listener.next('failed');
    await crash(t);
    const event = await failed;
    assert.match(String(event.detail), /^it crashed 6 times without running 30 s \(last: exited with status 3\)$/);
    assert.deepEqual(event.info, { code: 3, signal: null, exitCode: 3 });
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.clock.pending, 0, 'no restart left scheduled');
    assert.deepEqual(t.listener.kinds().slice(-2), ['crashed', 'failed']);
    t.clock.advance(600_000);
    assert.equal(t.start.started.length, 6, 'nothing is started after failing');
  });

  it('the delay is capped at 60 s', async () => {
    const t = setup({ backoff: { maxRestarts: 8 } });
    await t.instance.start(t.listener);
    for (const delay of [5000, 10_000, 20_000, 40_000, 60_000, 60_000, 60_000, 60_000]) {
      await crash(t);
      await restartsAfter(t, delay);
    }
    const failed = t.listener.next('failed');
    await crash(t);
    assert.match(String((await failed).detail), /^it crashed 9 times /);
  });

  it('a run of 30 s resets the backoff to 5 s; 1 ms less does not', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    await restartsAfter(t, 5000);
    t.clock.advance(DEFAULT_BACKOFF.stableMs - 1);
    await crash(t);
    await restartsAfter(t, 10_000);
    t.clock.advance(DEFAULT_BACKOFF.stableMs);
    await crash(t);
    await restartsAfter(t, 5000);
    await crash(t);
    await restartsAfter(t, 10_000);
  });

  it('a stable run also resets the count toward failing', async () => {
    const t = setup({ backoff: { maxRestarts: 2 } });
    await t.instance.start(t.listener);
    await crash(t);
    await restartsAfter(t, 5000);
    await crash(t);
    await restartsAfter(t, 10_000);
    t.clock.advance(DEFAULT_BACKOFF.stableMs);
    await crash(t); // the third crash, but the first since a stable run
    await restartsAfter(t, 5000);
    assert.equal(t.listener.count('failed'), 0);
  });

  it('a restart whose spawn fails counts as a crash and is retried with backoff', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    t.start.fail = new McpdError('SPAWN_FAILED', 'cannot start fake: no such command');
    t.clock.advance(5000);
    await new Promise((resolve) => setImmediate(resolve)); // the failed spawn's rejection is handled
    assert.equal(t.instance.state, 'restarting');
    assert.equal(t.instance.status().lastError, 'cannot start fake: no such command');
    await restartsAfter(t, 10_000);
  });

  it('an exit of a process it already replaced is ignored', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.child();
    first.holdStop = true;
    const restarted = t.instance.restart('mcpd restart');
    first.crash(1); // the old process ends its shutdown with a failure status
    await restarted;
    assert.equal(t.listener.count('crashed'), 0);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.clock.pending, 0);
  });
});

describe('supervisor instance: restart()', () => {
  it('replaces the process at once, and it does not count as a crash', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.child();
    const started = t.listener.next('started');
    await t.instance.restart('mcpd restart');
    assert.equal((await started).detail, true);
    assert.ok(first.stopped, 'the old process got its shutdown');
    assert.equal(t.start.started.length, 2);
    assert.equal(t.child().spec.env.GENERATION, '2', 'resolved afresh');
    assert.equal(t.clock.pending, 0, 'no timer: nothing waited');
    assert.equal(t.listener.count('crashed'), 0);
    assert.equal(t.instance.status().restarts, 1);
    assert.equal(t.instance.status().lastError, 'mcpd restart');
    await crash(t);
    await restartsAfter(t, 5000); // the crash count was not raised by the restart
  });

  it('starts the new process only once the old one is gone', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.child();
    first.holdStop = true;
    const restarted = t.instance.restart('its definition changed');
    assert.equal(await settled(restarted), false);
    assert.equal(t.instance.state, 'restarting');
    assert.equal(t.start.started.length, 1, 'not started while the old process is shutting down');
    first.crash(0);
    await restarted;
    assert.equal(t.start.started.length, 2);
    assert.equal(t.instance.state, 'running');
  });

  it('while waiting out a crash backoff, starts at once and cancels the timer', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    assert.equal(t.clock.pending, 1);
    const started = t.listener.next('started');
    await t.instance.restart('mcpd restart');
    assert.equal((await started).detail, true);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.clock.pending, 0, 'the backoff timer was cancelled');
    assert.equal(t.start.started.length, 2);
    t.clock.advance(600_000);
    assert.equal(t.start.started.length, 2, 'and nothing starts when it would have fired');
  });

  it('two restarts at once start one new process', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.child();
    first.holdStop = true;
    const restarts = [t.instance.restart('mcpd restart'), t.instance.restart('its definition changed')];
    first.crash(0);
    await Promise.all(restarts);
    assert.equal(t.start.started.length, 2);
    assert.equal(t.listener.count('started'), 2);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.instance.status().restarts, 1);
  });

  it('does nothing on a stopped or failed instance', async () => {
    const t = setup({ backoff: { maxRestarts: 0 } });
    await t.instance.restart('mcpd restart');
    assert.equal(t.instance.state, 'stopped');
    await t.instance.start(t.listener);
    const failed = t.listener.next('failed');
    await crash(t);
    await failed;
    await t.instance.restart('mcpd restart');
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.start.started.length, 1);
  });
});

describe('supervisor instance: stop()', () => {
  it('from running gives the process its shutdown and waits for it; its exit is not a crash', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    t.child().holdStop = true;
    const stopping = t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
    assert.equal(await settled(stopping), false, 'stop() waits for the process to exit');
    assert.ok(t.child().stopped);
    t.child().crash(0);
    await stopping;
    assert.equal(t.instance.pid, undefined);
    assert.equal(t.listener.count('crashed'), 0);
    assert.equal(t.clock.pending, 0);
  });

  it('while waiting to restart cancels the restart', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    assert.equal(t.clock.pending, 1);
    await t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.clock.pending, 0);
    t.clock.advance(120_000);
    assert.equal(t.start.started.length, 1);
    assert.equal(t.instance.state, 'stopped');
  });

  it('while the references are being resolved: nothing is spawned, and start() resolves', async () => {
    const launch = deferred<PreparedLaunch>();
    const t = setup({ prepare: () => launch.promise });
    const starting = t.instance.start(t.listener);
    assert.equal(t.instance.state, 'starting');
    await t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
    launch.resolve({ command: 'fake', args: [], env: {}, secrets: [], refs: [], leases: [] });
    await starting;
    assert.equal(t.start.started.length, 0);
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.listener.count('started'), 0);
  });

  it('from failed ends in stopped', async () => {
    const t = setup({ backoff: { maxRestarts: 0 } });
    await t.instance.start(t.listener);
    const failed = t.listener.next('failed');
    await crash(t);
    await failed;
    assert.equal(t.instance.state, 'failed');
    await t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
  });

  it('a stopped instance can be started again', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await t.instance.stop();
    await t.instance.start(t.listener);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.start.started.length, 2);
  });
});

describe('supervisor instance: streams and status', () => {
  it('passes stdout a line at a time and stderr lines; writes one line per message', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const child = t.child();
    const message = t.listener.next('message');
    child.stdout.write('{"jsonrpc":"2.0",');
    child.stdout.write('"id":1,"result":{}}\n');
    assert.equal((await message).detail, '{"jsonrpc":"2.0","id":1,"result":{}}');
    const stderr = t.listener.next('stderr');
    child.stderr.write('a log line\n');
    assert.equal((await stderr).detail, 'a log line');
    assert.equal(t.instance.write('{"jsonrpc":"2.0","id":2,"method":"ping"}'), true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(child.received, ['{"jsonrpc":"2.0","id":2,"method":"ping"}']);
  });

  it('drops writes while the server is not running', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.child();
    await crash(t);
    assert.equal(t.instance.write('{"jsonrpc":"2.0","id":1,"method":"ping"}'), true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(first.received, []);
  });

  it('a stdout line over the size limit fails the instance, naming the limit', async () => {
    const t = setup({ maxMessageBytes: 64 });
    await t.instance.start(t.listener);
    const failed = t.listener.next('failed');
    t.child().stdout.write('x'.repeat(100));
    const event = await failed;
    assert.equal(event.detail, 'the server sent a message longer than 64 bytes (the limit is daemon.maxMessageBytes)');
    assert.equal(event.info, undefined, 'no exit to report');
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.instance.status().lastError, event.detail);
    assert.ok(t.child().stopped, 'the process is shut down');
    assert.equal(t.listener.count('crashed'), 0, 'its exit is not reported as a crash');
    assert.equal(t.clock.pending, 0);
  });

  it('a stdout line of exactly the limit passes', async () => {
    const t = setup({ maxMessageBytes: 64 });
    await t.instance.start(t.listener);
    const message = t.listener.next('message');
    t.child().stdout.write(`${'x'.repeat(64)}\n`);
    assert.equal((await message).detail, 'x'.repeat(64));
    assert.equal(t.instance.state, 'running');
  });

  it('status() reports state, pid, since, restarts and the last error', async () => {
    const start = Date.parse('2025-03-01T12:00:00.000Z');
    const t = setup({ clockStart: start });
    assert.deepEqual(t.instance.status(), { session: 's1', state: 'stopped', pid: undefined, since: undefined, restarts: 0, lastError: undefined, leases: [] });
    await t.instance.start(t.listener);
    assert.deepEqual(t.instance.status(), { session: 's1', state: 'running', pid: t.child().pid, since: '2025-03-01T12:00:00.000Z', restarts: 0, lastError: undefined, leases: [] });
    t.clock.advance(1000);
    await crash(t, 7);
    assert.deepEqual(t.instance.status(), { session: 's1', state: 'restarting', pid: undefined, since: undefined, restarts: 0, lastError: 'exited with status 7', leases: [] });
    await restartsAfter(t, 5000);
    assert.deepEqual(t.instance.status(), { session: 's1', state: 'running', pid: t.child().pid, since: '2025-03-01T12:00:06.000Z', restarts: 1, lastError: 'exited with status 7', leases: [] });
  });
});

describe('supervisor instance: leases', () => {
  const leased = (n: number): PreparedLaunch => ({
    command: 'fake', args: [], env: { GENERATION: String(n) }, secrets: [], refs: [],
    leases: [{ ref: '${vault:database/creds/ro#password}', provider: 'vault', lease: { id: `database/creds/ro/${n}`, expiresAt: 0, renewable: true } }],
  });
  const setupLeased = () => {
    let n = 0;
    return setup({ prepare: async () => leased(++n) });
  };
  /** Waits for the callbacks a process's exit starts (the revocation among them). */
  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('each process keeps the leases of its own launch, revoked once it crashes', async () => {
    const t = setupLeased();
    await t.instance.start(t.listener);
    assert.equal(t.keeper.kept.length, 1);
    assert.equal(t.keeper.kept[0]!.leases[0]!.lease.id, 'database/creds/ro/1');
    await crash(t);
    await turn();
    assert.equal(t.keeper.kept[0]!.revoked, 1, 'revoked with the crashed process');
    await restartsAfter(t, 5000);
    assert.equal(t.keeper.kept[1]!.leases[0]!.lease.id, 'database/creds/ro/2', 'the new process has a lease of its own');
    assert.equal(t.keeper.kept[1]!.revoked, 0);
  });

  it('stop() revokes after the process is gone; restart() revokes the old process\'s', async () => {
    const t = setupLeased();
    await t.instance.start(t.listener);
    await t.instance.restart('mcpd restart');
    await turn();
    assert.deepEqual(t.keeper.kept.map((k) => k.revoked), [1, 0]);
    await t.instance.stop();
    assert.equal(t.child().stopped, true);
    assert.deepEqual(t.keeper.kept.map((k) => k.revoked > 0), [true, true]);
  });

  it('a spawn that fails revokes the leases resolved for it', async () => {
    const t = setupLeased();
    t.start.fail = new McpdError('SPAWN_FAILED', 'cannot start fake');
    await assert.rejects(t.instance.start(t.listener), { code: 'SPAWN_FAILED' });
    assert.equal(t.keeper.kept[0]!.revoked, 1);
  });

  it('a lease that will end is reported to the session while its process runs, and only then', async () => {
    const t = setupLeased();
    await t.instance.start(t.listener);
    t.keeper.kept[0]!.end('it has reached its max TTL');
    assert.deepEqual(t.listener.events.at(-1), {
      kind: 'expiring',
      detail: 'the lease of ${vault:database/creds/ro#password} ends at 2030-01-01T00:00:00.000Z (it has reached its max TTL)',
    });
    await crash(t);
    t.keeper.kept[0]!.end('late');
    assert.equal(t.listener.count('expiring'), 1, 'an old process\'s lease is nobody\'s concern');
  });
});
