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
import { DEFAULT_BACKOFF, Instance, type InstanceListener } from '../../../daemon/supervisor/instance.js';
import { fakeStarter } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

type Event = { kind: keyof InstanceListener; detail?: unknown };

/** Records what the instance tells its session, and lets a test wait for the next event of a kind. */
class Recorder implements InstanceListener {
  readonly events: Event[] = [];
  #waiters: Array<{ kind: string; resolve: (e: Event) => void }> = [];
  message = (line: string) => this.#push({ kind: 'message', detail: line });
  stderr = (line: string) => this.#push({ kind: 'stderr', detail: line });
  started = (restart: boolean) => this.#push({ kind: 'started', detail: restart });
  crashed = (info: ExitInfo) => this.#push({ kind: 'crashed', detail: info });
  failed = (reason: string) => this.#push({ kind: 'failed', detail: reason });
  drain = () => this.#push({ kind: 'drain' });

  next(kind: Event['kind']): Promise<Event> {
    return new Promise((resolve) => this.#waiters.push({ kind, resolve }));
  }

  count(kind: Event['kind']): number {
    return this.events.filter((e) => e.kind === kind).length;
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

function setup(options: { maxMessageBytes?: number; prepare?: () => Promise<PreparedLaunch> } = {}) {
  const clock = new ManualClock();
  const start = fakeStarter();
  let prepared = 0;
  const prepare = options.prepare ?? (async () => {
    prepared += 1;
    return { command: 'fake', args: [], env: { GENERATION: String(prepared) }, secrets: [], refs: [] };
  });
  const instance = new Instance({ session: 's1', prepare, start, clock, backoff: DEFAULT_BACKOFF, maxMessageBytes: options.maxMessageBytes ?? 1024 });
  return { clock, start, instance, listener: new Recorder(), prepared: () => prepared };
}

/** Crashes the current process and waits until the instance has scheduled its restart. */
async function crash(t: ReturnType<typeof setup>, code = 3): Promise<void> {
  const crashed = t.listener.next('crashed');
  t.start.started.at(-1)!.crash(code);
  await crashed;
}

/** Advances the clock to just before, then to, the expected delay: the restart happens exactly then. */
async function restartsAfter(t: ReturnType<typeof setup>, delayMs: number): Promise<void> {
  const before = t.start.started.length;
  t.clock.advance(delayMs - 1);
  assert.equal(t.instance.state, 'restarting');
  assert.equal(t.start.started.length, before, `nothing restarts before ${delayMs} ms`);
  const started = t.listener.next('started');
  t.clock.advance(1);
  assert.equal((await started).detail, true, 'started(restart = true)');
  assert.equal(t.instance.state, 'running');
}

describe('supervisor instance', () => {
  it('starts: resolves the launch, spawns, runs', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    assert.equal(t.instance.state, 'running');
    assert.equal(t.start.started.length, 1);
    assert.equal(t.instance.pid, t.start.started[0]!.pid);
    assert.deepEqual(t.listener.events.map((e) => e.kind), ['started']);
  });

  it('a first start whose references fail rejects with that error and ends failed', async () => {
    const error = new McpdError('SECRET_NOT_FOUND', '${secret:x}: no such secret');
    const t = setup({ prepare: () => Promise.reject(error) });
    await assert.rejects(t.instance.start(t.listener), error);
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.start.started.length, 0, 'nothing spawned');
  });

  it('restarts a crash after 5 s, 10 s, 20 s, 40 s, 60 s, each with fresh values, then fails the sixth', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    for (const delay of [5000, 10_000, 20_000, 40_000, 60_000]) {
      await crash(t);
      await restartsAfter(t, delay);
      assert.equal(t.start.started.at(-1)!.spec.env.GENERATION, String(t.prepared()), 'resolved again for the new process');
    }
    assert.equal(t.instance.status().restarts, 5);
    const failed = t.listener.next('failed');
    await crash(t);
    assert.match(String((await failed).detail), /^it crashed 6 times without running 30 s \(last: exited with status 3\)$/);
    assert.equal(t.instance.state, 'failed');
    assert.equal(t.clock.pending, 0, 'no restart left scheduled');
  });

  it('a run of 30 s resets the backoff to 5 s', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    await restartsAfter(t, 5000);
    await crash(t);
    await restartsAfter(t, 10_000);
    t.clock.advance(DEFAULT_BACKOFF.stableMs);
    await crash(t);
    await restartsAfter(t, 5000);
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

  it('restart() replaces the process at once, and it does not count as a crash', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const first = t.start.started[0]!;
    const started = t.listener.next('started');
    await t.instance.restart('mcpd restart');
    assert.equal((await started).detail, true);
    assert.ok(first.stopped, 'the old process got its shutdown');
    assert.equal(t.start.started.length, 2);
    assert.equal(t.listener.count('crashed'), 0);
    assert.equal(t.instance.status().restarts, 1);
    await crash(t);
    await restartsAfter(t, 5000); // the crash count was not raised by the restart
  });

  it('stop() while waiting to restart cancels the restart', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t);
    assert.equal(t.clock.pending, 1);
    await t.instance.stop();
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.clock.pending, 0);
    t.clock.advance(120_000);
    assert.equal(t.start.started.length, 1);
  });

  it('stop() from running gives the process its shutdown; its exit is not a crash', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await t.instance.stop();
    assert.ok(t.start.started[0]!.stopped);
    assert.equal(t.instance.state, 'stopped');
    assert.equal(t.listener.count('crashed'), 0);
  });

  it('passes stdout a line at a time and stderr lines; writes one line per message', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    const child = t.start.started[0]!;
    const message = t.listener.next('message');
    child.stdout.write('{"jsonrpc":"2.0",');
    child.stdout.write('"id":1,"result":{}}\n');
    assert.equal((await message).detail, '{"jsonrpc":"2.0","id":1,"result":{}}');
    const stderr = t.listener.next('stderr');
    child.stderr.write('a log line\n');
    assert.equal((await stderr).detail, 'a log line');
    t.instance.write('{"jsonrpc":"2.0","id":2,"method":"ping"}');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(child.received, ['{"jsonrpc":"2.0","id":2,"method":"ping"}']);
  });

  it('a stdout line over the size limit fails the instance, naming the limit', async () => {
    const t = setup({ maxMessageBytes: 64 });
    await t.instance.start(t.listener);
    const failed = t.listener.next('failed');
    t.start.started[0]!.stdout.write('x'.repeat(100));
    assert.match(String((await failed).detail), /the server sent a message longer than 64 bytes \(the limit is daemon\.maxMessageBytes\)/);
    assert.equal(t.instance.state, 'failed');
    assert.ok(t.start.started[0]!.stopped);
  });

  it('status() reports state, pid, restarts and the last error', async () => {
    const t = setup();
    await t.instance.start(t.listener);
    await crash(t, 7);
    assert.deepEqual(t.instance.status(), { session: 's1', state: 'restarting', pid: undefined, since: undefined, restarts: 0, lastError: 'exited with status 7' });
  });
});
