/**
 * LeaseKeeper against the Vault double (test/doubles/vault.ts) and the real Vault provider, on
 * a manual clock that both share: renewal at two thirds with jitter, the lease that can no
 * longer be extended reported before it ends, a lease revoked under its server, an outage at
 * renewal time, and revocation once, for every lease a launch holds.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { type HeldLease, LeaseKeeper } from '../../../daemon/supervisor/leases.js';
import type { Provider, Ref, Resolved } from '../../../providers/provider.js';
import { ProviderRegistry } from '../../../providers/registry.js';
import { resolveText } from '../../../providers/resolver.js';
import { createVault } from '../../../providers/vault.js';
import { VaultDouble } from '../../doubles/vault.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
const vault = await VaultDouble.start({ now: () => clock.now() });
vault.addToken('hvs.root');
vault.mountDatabase('database', {
  readonly: { ttl: 3600, maxTtl: 7200 },
  fixed: { ttl: 600, renewable: false },
});
const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' };
const registry = new ProviderRegistry({}, { env });
const provider: Provider = createVault('vault', { type: 'vault', auth: { method: 'token' }, timeout: '10s' }, {
  env, registry, note: () => {}, warn: () => {}, resolveSetting: (text, where) => resolveText(text, registry, where),
}, { clock, random: () => 0 });
after(async () => {
  await provider.close();
  await vault.close();
});

const ref = (path: string): Ref => ({ raw: `vault:${path}`, provider: 'vault', path });

async function lease(path: string): Promise<HeldLease> {
  const [outcome] = await provider.resolve([ref(path)]);
  if (outcome instanceof McpdError || !outcome?.lease) assert.fail(`no lease for ${path}: ${JSON.stringify(outcome)}`);
  return { ref: `\${vault:${path}}`, provider: 'vault', lease: (outcome as Resolved).lease! };
}

/** A keeper on the shared clock, recording its notes and endings. */
function keep(leases: HeldLease[], random = 0) {
  const notes: string[] = [];
  const endings: Array<{ ref: string; at: number; why: string }> = [];
  const keeper = new LeaseKeeper(leases, {
    clock, random: () => random, providerOf: async () => provider,
    note: (m) => notes.push(m),
    ending: (r, at, why) => endings.push({ ref: r, at, why }),
  });
  return { keeper, notes, endings };
}

/** Lets the renewal a timer started reach the double and come back. */
async function settle(n = 1): Promise<void> {
  await vault.waitForCalls((c) => c.path === 'sys/leases/renew', n);
  for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
}

describe('lease keeping', () => {
  it('renews at two thirds of the lease, not before, and again after each renewal', async () => {
    const held = await lease('database/creds/readonly#password');
    const before = vault.count('PUT', 'sys/leases/renew');
    const { keeper, endings } = keep([held]);
    clock.advance(2400_000 - 1);
    assert.equal(vault.count('PUT', 'sys/leases/renew'), before, 'no renewal before two thirds');
    clock.advance(1);
    await settle(before + 1);
    assert.equal(vault.count('PUT', 'sys/leases/renew'), before + 1);
    assert.equal(keeper.status()[0]!.expiresAt, new Date(clock.now() + 3600_000).toISOString());
    clock.advance(2400_000);
    await settle(before + 2);
    assert.equal(vault.count('PUT', 'sys/leases/renew'), before + 2);
    assert.equal(vault.leaseAlive(held.lease.id), true, 'kept alive past its first TTL');
    assert.deepEqual(endings, []);
    await keeper.revokeAll();
  });

  it('jitter moves the renewal up to a tenth earlier, never later', async () => {
    const held = await lease('database/creds/readonly#password');
    const before = vault.count('PUT', 'sys/leases/renew');
    const { keeper } = keep([held], 0.999);
    clock.advance(2400_000 * 0.9 + 1000);
    await settle(before + 1);
    assert.equal(vault.count('PUT', 'sys/leases/renew'), before + 1);
    await keeper.revokeAll();
  });

  it('a lease capped by its max TTL is reported before it ends, once renewal cannot extend it', async () => {
    const held = await lease('database/creds/readonly#password');
    const issued = clock.now();
    const { keeper, endings, notes } = keep([held]);
    clock.advance(2400_000);
    await settle();
    clock.advance(2400_000);
    await settle();
    // The second renewal is granted only up to the max TTL (7200 s after issue).
    assert.equal(keeper.status()[0]!.expiresAt, new Date(issued + 7200_000).toISOString());
    assert.ok(notes.some((n) => n.includes('(its last renewal)')), notes.join('\n'));
    assert.deepEqual(endings, []);
    clock.advance((issued + 7200_000 - clock.now()) * (2 / 3));
    assert.deepEqual(endings, [{ ref: held.ref, at: issued + 7200_000, why: 'it has reached its max TTL' }]);
    assert.ok(clock.now() < issued + 7200_000, 'reported while the lease still works');
    await keeper.revokeAll();
  });

  it('a lease that is not renewable is reported at two thirds of its life, never renewed', async () => {
    const held = await lease('database/creds/fixed#password');
    const before = vault.count('PUT', 'sys/leases/renew');
    const { keeper, endings } = keep([held]);
    clock.advance(400_000);
    assert.deepEqual(endings.map((e) => e.why), ['it is not renewable']);
    assert.equal(vault.count('PUT', 'sys/leases/renew'), before);
    await keeper.revokeAll();
  });

  it('a lease revoked under its server: the refused renewal is reported at once', async () => {
    const held = await lease('database/creds/readonly#password');
    const { keeper, endings } = keep([held]);
    vault.revokeLease(held.lease.id);
    clock.advance(2400_000);
    await settle();
    assert.equal(endings.length, 1);
    assert.match(endings[0]!.why, /^renewing it failed: Vault at .* refused to renew lease database\/creds\/readonly\/[0-9a-f]+: lease not found$/);
    await keeper.revokeAll();
  });

  it('Vault sealed at renewal time: tried again halfway to the end, and renewed once it answers', async () => {
    const held = await lease('database/creds/readonly#password');
    const { keeper, endings, notes } = keep([held]);
    vault.sealed = true;
    const before = vault.count('PUT', 'sys/leases/renew');
    clock.advance(2400_000);
    await settle(before + 1);
    assert.ok(notes.some((n) => /is sealed\); trying again$/.test(n)), notes.join('\n'));
    vault.sealed = false;
    clock.advance(600_000);
    await settle(before + 2);
    assert.deepEqual(endings, []);
    assert.equal(keeper.status()[0]!.expiresAt, new Date(clock.now() + 3600_000).toISOString());
    await keeper.revokeAll();
  });

  it('revokeAll revokes every lease once, shared leases once, and stops all timers', async () => {
    const a = await lease('database/creds/readonly#username');
    const b = await lease('database/creds/readonly#password');
    const pending = clock.pending;
    const { keeper, notes } = keep([a, { ...a, ref: '${vault:database/creds/readonly#password}' }, b]);
    assert.equal(keeper.size, 2, 'two references to one lease are one lease');
    assert.equal(clock.pending, pending + 2);
    const revokes = vault.count('PUT', 'sys/leases/revoke');
    await Promise.all([keeper.revokeAll(), keeper.revokeAll()]);
    assert.equal(vault.count('PUT', 'sys/leases/revoke'), revokes + 2);
    assert.equal(vault.leaseAlive(a.lease.id), false);
    assert.equal(vault.leaseAlive(b.lease.id), false);
    assert.equal(clock.pending, pending, 'no renewal left scheduled');
    assert.equal(notes.filter((n) => n.startsWith('revoked lease')).length, 2);
  });
});
