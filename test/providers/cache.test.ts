/**
 * The daemon's cache, against a counting fake backend and a manual clock: how many times a
 * backend is asked is the whole point, so every test counts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import { cached } from '../../providers/cache.js';
import type { Provider, Ref, Resolution } from '../../providers/provider.js';
import { ManualClock } from '../helpers/manual-clock.js';

const ref = (path: string): Ref => ({ raw: `fake:${path}`, provider: 'fake', path });

/** A backend that counts its calls; `down` makes it fail, `leased` hands out a new lease per call. */
function backend(options: { leased?: boolean } = {}) {
  const state = { calls: 0, down: false, value: 'v1', gate: undefined as Promise<void> | undefined };
  const provider: Provider = {
    name: 'fake',
    async resolve(refs) {
      state.calls += 1;
      const call = state.calls;
      await state.gate;
      return refs.map((r): Resolution => {
        if (state.down) return new McpdError('PROVIDER_UNAVAILABLE', `\${${r.raw}}: the backend is down`);
        return options.leased ? { value: `${state.value}-${call}`, lease: { id: `lease-${call}`, expiresAt: 0, renewable: true } } : { value: state.value };
      });
    },
    async store(_ref, value) {
      state.value = value;
      return '2';
    },
    async close() {},
  };
  return { provider, state };
}

const policy = { ttlMs: 300_000, failureTtlMs: 30_000 };
const value = (outcome: Resolution | undefined) => {
  if (!outcome || outcome instanceof McpdError) assert.fail(`expected a value, got ${String(outcome)}`);
  return outcome.value;
};

describe('resolver cache', () => {
  it('a warm resolve within cacheTtl asks the backend nothing; after it, once more', async () => {
    const clock = new ManualClock();
    const { provider, state } = backend();
    const cache = cached(provider, policy, clock);
    await cache.resolve([ref('a'), ref('b')]);
    await cache.resolve([ref('a'), ref('b')]);
    assert.equal(state.calls, 1);
    clock.advance(policy.ttlMs);
    await cache.resolve([ref('a')]);
    assert.equal(state.calls, 2);
  });

  it('a fresh resolve asks the backend past the cache, and what it reads is what the cache serves next', async () => {
    const clock = new ManualClock();
    const { provider, state } = backend();
    const cache = cached(provider, policy, clock);
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'v1');
    state.value = 'changed-behind-our-back';
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'v1', 'the cache still serves the old value');
    assert.equal(value((await cache.resolve([ref('a')], { fresh: true }))[0]), 'changed-behind-our-back');
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'changed-behind-our-back');
    assert.equal(state.calls, 2);
  });

  it('ten concurrent resolutions of one reference make one backend call', async () => {
    const { provider, state } = backend();
    let open!: () => void;
    state.gate = new Promise((resolve) => { open = resolve; });
    const cache = cached(provider, policy, new ManualClock());
    const all = Promise.all(Array.from({ length: 10 }, () => cache.resolve([ref('a')])));
    open();
    assert.deepEqual((await all).map(([o]) => value(o)), Array(10).fill('v1'));
    assert.equal(state.calls, 1);
  });

  it('a failure is kept briefly, then the backend is asked again', async () => {
    const clock = new ManualClock();
    const { provider, state } = backend();
    state.down = true;
    const cache = cached(provider, policy, clock);
    assert.ok((await cache.resolve([ref('a')]))[0] instanceof McpdError);
    assert.ok((await cache.resolve([ref('a')]))[0] instanceof McpdError);
    assert.equal(state.calls, 1, 'a bad token cannot burn the quota');
    state.down = false;
    clock.advance(policy.failureTtlMs);
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'v1');
    assert.equal(state.calls, 2);
  });

  it('a backend that goes down: cached values serve until they expire, then the error names the reference', async () => {
    const clock = new ManualClock();
    const { provider, state } = backend();
    const cache = cached(provider, policy, clock);
    await cache.resolve([ref('a')]);
    state.down = true;
    clock.advance(policy.ttlMs - 1);
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'v1');
    clock.advance(1);
    const [outcome] = await cache.resolve([ref('a')]);
    assert.ok(outcome instanceof McpdError);
    assert.equal(outcome.message, '${fake:a}: the backend is down');
  });

  it('leased values are neither kept nor shared: each resolution gets a lease of its own', async () => {
    const { provider, state } = backend({ leased: true });
    let open!: () => void;
    state.gate = new Promise((resolve) => { open = resolve; });
    const cache = cached(provider, policy, new ManualClock());
    const both = Promise.all([cache.resolve([ref('db')]), cache.resolve([ref('db')])]);
    open();
    const leases = (await both).map(([o]) => (o as { lease?: { id: string } }).lease?.id);
    assert.equal(new Set(leases).size, 2, `two leases, got ${leases.join(', ')}`);
    await cache.resolve([ref('db')]);
    assert.equal(state.calls, 3);
  });

  it('a store through the cache is seen by the next resolve', async () => {
    const { provider } = backend();
    const cache = cached(provider, policy, new ManualClock());
    await cache.resolve([ref('a')]);
    await cache.store!(ref('a'), 'v2');
    assert.equal(value((await cache.resolve([ref('a')]))[0]), 'v2');
  });

  it('cacheTtl 0 leaves the provider as it is', () => {
    const { provider } = backend();
    assert.equal(cached(provider, { ttlMs: 0, failureTtlMs: 0 }, new ManualClock()), provider);
  });
});
