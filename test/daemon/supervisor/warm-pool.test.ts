/**
 * The warm pool's state machine against fake processes and a manual clock: a take never waits,
 * a failed start waits out the backoff, a lease ending or half the ttl replaces a pooled
 * instance, and the session that takes one hears the process from its first line on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { PreparedLaunch } from '../../../daemon/launcher/launch-spec.js';
import { DEFAULT_BACKOFF, Instance, type InstanceListener } from '../../../daemon/supervisor/instance.js';
import { WarmPool } from '../../../daemon/supervisor/warm-pool.js';
import type { Owner } from '../../../daemon/supervisor/warm-instance.js';
import { fakeStarter, leaseRecorder } from '../../helpers/fake-process.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const settle = () => new Promise((resolve) => setImmediate(resolve));

function setup(options: { warm?: number; ttlMs?: number; failFirst?: number } = {}) {
  const clock = new ManualClock();
  const start = fakeStarter();
  const keeper = leaseRecorder();
  const owners: string[] = [];
  const logged: Array<[string, Record<string, unknown>]> = [];
  let failures = options.failFirst ?? 0;
  const prepare = async (owner: Owner): Promise<PreparedLaunch> => {
    owners.push(owner.session);
    if (failures-- > 0) throw new McpdError('ENV_UNSET', 'mcpServers.x.env.T: ${env:T} is not set');
    return { command: 'fake', args: [], env: {}, secrets: [], refs: [], leases: [] } as unknown as PreparedLaunch;
  };
  const pool = new WarmPool({ name: 'x', warm: options.warm ?? 1, ttlMs: options.ttlMs }, {
    clock,
    backoff: () => ({ ...DEFAULT_BACKOFF, initialMs: 1000, maxMs: 4000 }),
    create: (owner) => new Instance({ session: 'pool', prepare: () => prepare(owner), start, keepLeases: keeper.keep, clock, backoff: DEFAULT_BACKOFF, maxMessageBytes: 4096 }),
    log: (event, fields) => logged.push([event, fields]),
    stderr: () => {},
  });
  return { clock, start, keeper, pool, owners, logged };
}

/** A session's listener that records what it hears, in order. */
function listener(heard: string[]): InstanceListener {
  return {
    message: (line) => heard.push(`message ${line.toString()}`),
    stderr: () => {},
    started: (restart) => heard.push(`started ${restart}`),
    crashed: () => heard.push('crashed'),
    failed: (reason) => heard.push(`failed ${reason}`),
    drain: () => {},
    expiring: (reason) => heard.push(`expiring ${reason}`),
  };
}

describe('warm pool', () => {
  it('a take never waits: undefined while the instance starts, a running one after, and a replacement starts', async () => {
    const t = setup();
    t.pool.fill();
    assert.equal(t.pool.state, 'filling');
    assert.equal(t.pool.take('s1'), undefined);
    await settle();
    assert.equal(t.pool.state, 'ready');
    const taken = t.pool.take('s2');
    assert.ok(taken);
    assert.equal(taken.status().session, 's2');
    assert.equal(t.pool.state, 'filling');
    await settle();
    assert.equal(t.start.started.length, 2);
    assert.equal(t.pool.status().instances.length, 1);
    assert.deepEqual(t.owners, ['pool', 'pool']);
  });

  it('the session that takes an instance hears what the process wrote before, then its own initialize is the first line the process reads', async () => {
    const t = setup();
    t.pool.fill();
    await settle();
    t.start.started[0]!.say({ jsonrpc: '2.0', method: 'notifications/message', params: { data: 'early' } });
    await settle();
    assert.ok(t.logged.some(([event]) => event === 'pool.note'));
    const taken = t.pool.take('s1')!;
    const heard: string[] = [];
    await taken.start(listener(heard));
    assert.deepEqual(heard, ['started false', 'message {"jsonrpc":"2.0","method":"notifications/message","params":{"data":"early"}}']);
    taken.write('{"jsonrpc":"2.0","id":1,"method":"initialize"}');
    assert.deepEqual(await t.start.started[0]!.receivedAtLeast(1), ['{"jsonrpc":"2.0","id":1,"method":"initialize"}']);
    // From the take on, the session hears the process's events, and a restart audits as the session.
    t.start.started[0]!.crash(3);
    await settle();
    assert.deepEqual(heard.slice(2), ['crashed']);
    t.clock.advance(DEFAULT_BACKOFF.initialMs);
    await settle();
    assert.deepEqual(heard.slice(3), ['started true']);
    assert.equal(t.owners.at(-1), 's1');
  });

  it('a start that fails makes the pool wait out the restart backoff, doubling, and status says why', async () => {
    const t = setup({ failFirst: 2 });
    t.pool.fill();
    await settle();
    assert.equal(t.pool.state, 'waiting');
    assert.equal(t.pool.status().lastError, 'mcpServers.x.env.T: ${env:T} is not set');
    assert.equal(t.pool.take('s1'), undefined, 'a take while waiting does not wait either');
    t.clock.advance(999);
    await settle();
    assert.equal(t.owners.length, 1);
    t.clock.advance(1);
    await settle();
    assert.equal(t.owners.length, 2);
    assert.equal(t.pool.state, 'waiting');
    t.clock.advance(1999);
    await settle();
    assert.equal(t.owners.length, 2, 'the second wait is twice the first');
    t.clock.advance(1);
    await settle();
    assert.equal(t.pool.state, 'ready');
    assert.equal(t.pool.status().lastError, undefined);
  });

  it('a pooled instance whose lease is ending is replaced; a taken one tells its session instead', async () => {
    const t = setup();
    t.pool.fill();
    await settle();
    const first = t.start.started[0]!;
    t.keeper.kept[0]!.end('it has reached its max TTL');
    await settle();
    assert.ok(first.stopped);
    assert.equal(t.start.started.length, 2);
    assert.equal(t.pool.state, 'ready');
    const taken = t.pool.take('s1')!;
    const heard: string[] = [];
    await taken.start(listener(heard));
    t.keeper.kept[1]!.end('renewing it failed');
    assert.match(heard.at(-1)!, /^expiring the lease of .* \(renewing it failed\)$/);
    assert.ok(!t.start.started[1]!.stopped, 'the session rolls it; the pool has let it go');
  });

  it('a pooled instance is replaced once it has waited half the ttl', async () => {
    const t = setup({ ttlMs: 10_000 });
    t.pool.fill();
    await settle();
    t.clock.advance(4999);
    await settle();
    assert.equal(t.start.started.length, 1);
    t.clock.advance(1);
    await settle();
    assert.ok(t.start.started[0]!.stopped);
    assert.equal(t.start.started.length, 2);
    assert.ok(t.logged.some(([event, fields]) => event === 'pool.recycled' && fields.reason === 'it waited half its ttl of 10 s'));
  });

  it('stop ends every pooled process; a take then starts the pool filling again', async () => {
    const t = setup({ warm: 3 });
    t.pool.fill();
    await settle();
    assert.equal(t.pool.status().instances.length, 3);
    await t.pool.stop();
    assert.ok(t.start.started.every((p) => p.stopped));
    assert.equal(t.pool.state, 'stopped');
    assert.equal(t.pool.take('s1'), undefined);
    assert.equal(t.pool.state, 'filling');
  });
});
