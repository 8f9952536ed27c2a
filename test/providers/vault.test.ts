/**
 * The Vault provider against the Vault double (test/doubles/vault.ts): reads, leases, writes,
 * and every bad input of issue 4, each asserting the message a user sees and that no value is
 * in it. Token sources, renewal, AppRole and TLS are in vault-auth.test.ts.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import type { ProviderConfigOf } from '../../providers/backends.js';
import type { Provider, Ref, Resolution, Resolved } from '../../providers/provider.js';
import { ProviderRegistry, type ProviderContext } from '../../providers/registry.js';
import { resolveText } from '../../providers/resolver.js';
import { createVault } from '../../providers/vault.js';
import { VaultDouble } from '../doubles/vault.js';
import { ManualClock } from '../helpers/manual-clock.js';
import { conformance } from './conformance.js';

const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
const vault = await VaultDouble.start({ now: () => clock.now() });
const ROOT = 'hvs.root-token-for-tests';
vault.addToken(ROOT);
vault.mountKv('secret', 2);
vault.mountKv('kv', 1);
vault.mountDatabase('database', { readonly: { ttl: 3600, maxTtl: 7200 }, fixed: { ttl: 600, renewable: false } });

const opened: Provider[] = [];
const notes: string[] = [];
after(async () => {
  await Promise.all(opened.map((p) => p.close()));
  await vault.close();
});

/** A provider named `vault` on this file's clock; `env` is the caller's environment it sees. */
function open(config: Partial<ProviderConfigOf<'vault'>> = {}, env: Env = { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT }): Provider {
  const registry = new ProviderRegistry({}, { env });
  const ctx: ProviderContext = { env, registry, note: (m) => notes.push(m), warn: (m) => assert.fail(`no warning expected for a loopback Vault: ${m}`), resolveSetting: (text, where) => resolveText(text, registry, where) };
  const provider = createVault('vault', { type: 'vault', auth: { method: 'token' }, timeout: '10s', ...config }, ctx, { clock, random: () => 0.5 });
  opened.push(provider);
  return provider;
}

const ref = (path: string): Ref => ({ raw: `vault:${path}`, provider: 'vault', path });
const show = (path: string) => `\${vault:${path}}`;

/** Every value this file puts in Vault: none may appear in an error. */
const values = new Set<string>();
function seed(path: string, fields: Record<string, string>, namespace = ''): number {
  for (const v of Object.values(fields)) values.add(v);
  return vault.putKv(path, fields, namespace);
}

function resolved(outcome: Resolution | undefined): Resolved {
  if (outcome === undefined || outcome instanceof McpdError) assert.fail(`expected a value, got ${outcome?.message}`);
  return outcome;
}

function failure(outcome: unknown, code: string, message: string): McpdError {
  assert.ok(outcome instanceof McpdError, `expected ${code}, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  assert.equal(outcome.message, message);
  for (const value of values) assert.ok(!`${outcome.message} ${outcome.hint}`.includes(value), `a value leaked into: ${outcome.format()}`);
  return outcome;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then((v) => assert.fail(`expected a failure, got ${JSON.stringify(v)}`), (error: unknown) => error);
}

conformance('vault (KV v2 double)', async () => ({
  provider: open(),
  ref: (path) => ref(`secret/data/${path}#value`),
}));

seed('secret/github', { token: 'gh-token-v1-aaaa', user: 'octocat-user' });
seed('secret/github', { token: 'gh-token-v2-bbbb', user: 'octocat-user' });
seed('secret/single', { only: 'lonely-value-cccc' });
seed('kv/legacy', { password: 'legacy-password-dddd' });

describe('vault reads', () => {
  it('KV v2: the newest version or a pinned one, with one read per path however many fields', async () => {
    const before = vault.count('GET', 'secret/data/github');
    const outcomes = await open().resolve([ref('secret/data/github#token'), ref('secret/data/github#user'), ref('secret/data/github?version=1#token')]);
    assert.deepEqual(outcomes, [
      { value: 'gh-token-v2-bbbb', version: '2' },
      { value: 'octocat-user', version: '2' },
      { value: 'gh-token-v1-aaaa', version: '1' },
    ]);
    assert.equal(vault.count('GET', 'secret/data/github') - before, 1);
  });

  it('KV v1: the fields at the path itself; without #FIELD a single-field secret gives that field', async () => {
    const outcomes = await open().resolve([ref('kv/legacy#password'), ref('kv/legacy'), ref('secret/data/single')]);
    assert.deepEqual(outcomes, [{ value: 'legacy-password-dddd' }, { value: 'legacy-password-dddd' }, { value: 'lonely-value-cccc', version: '1' }]);
  });

  it('X-Vault-Namespace: the setting, else $VAULT_NAMESPACE, scopes every path', async () => {
    vault.mountKv('secret', 2, 'team-a');
    seed('secret/app', { key: 'team-a-value-eeee' }, 'team-a');
    seed('secret/app', { key: 'root-ns-value-ffff' });
    const [scoped] = await open({ namespace: 'team-a' }).resolve([ref('secret/data/app#key')]);
    const [fromEnv] = await open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT, VAULT_NAMESPACE: 'team-a' }).resolve([ref('secret/data/app#key')]);
    const [root] = await open().resolve([ref('secret/data/app#key')]);
    assert.deepEqual([resolved(scoped).value, resolved(fromEnv).value, resolved(root).value], ['team-a-value-eeee', 'team-a-value-eeee', 'root-ns-value-ffff']);
    assert.equal(vault.calls.filter((c) => c.path === 'secret/data/app' && c.namespace === 'team-a').length, 2);
  });
});

describe('vault leases', () => {
  it('a dynamic secret carries its lease; each resolve is a new lease; renew and revoke reach Vault', async () => {
    const provider = open();
    const [user, password] = (await provider.resolve([ref('database/creds/readonly#username'), ref('database/creds/readonly#password')])).map(resolved);
    assert.ok(user!.lease && password!.lease);
    assert.deepEqual(user!.lease, password!.lease, 'two fields of one read share its lease');
    assert.deepEqual(user!.lease, { id: user!.lease.id, expiresAt: clock.now() + 3600_000, renewable: true });
    assert.match(user!.lease.id, /^database\/creds\/readonly\/[0-9a-f]+$/);

    const [again] = (await provider.resolve([ref('database/creds/readonly#password')])).map(resolved);
    assert.notEqual(again!.lease!.id, user!.lease.id);
    assert.notEqual(again!.value, password!.value);

    const renewals = vault.count('PUT', 'sys/leases/renew');
    clock.advance(600_000);
    assert.deepEqual(await provider.renew!(user!.lease), { id: user!.lease.id, expiresAt: clock.now() + 3600_000, renewable: true });
    assert.equal(vault.count('PUT', 'sys/leases/renew'), renewals + 1);

    await provider.revoke!(user!.lease);
    assert.equal(vault.leaseAlive(user!.lease.id), false);
    assert.equal(vault.leaseAlive(again!.lease!.id), true, 'revoking one lease leaves the other launch\'s');
  });

  it('a lease near its max TTL is renewed for what is left, and said so', async () => {
    const provider = open();
    const [cred] = (await provider.resolve([ref('database/creds/readonly#password')])).map(resolved);
    const issued = clock.now();
    clock.advance(3000_000);
    assert.equal((await provider.renew!(cred!.lease!)).expiresAt, issued + 6600_000);
    clock.advance(2000_000);
    const renewed = await provider.renew!(cred!.lease!);
    assert.equal(renewed.expiresAt, issued + 7200_000);
    assert.ok(notes.includes(`lease ${cred!.lease!.id} is capped by its max TTL: it ends at ${new Date(issued + 7200_000).toISOString()}`), notes.join('\n'));
  });

  it('a lease really expires by Vault\'s clock; renewing it then is refused, naming the lease', async () => {
    const provider = open();
    const [cred] = (await provider.resolve([ref('database/creds/readonly#password')])).map(resolved);
    values.add(cred!.value);
    assert.equal(vault.leaseAlive(cred!.lease!.id), true);
    clock.advance(3600_000);
    assert.equal(vault.leaseAlive(cred!.lease!.id), false);
    const error = failure(await rejection(provider.renew!(cred!.lease!)), 'PROVIDER_FAILED', `Vault at ${vault.url} refused to renew lease ${cred!.lease!.id}: lease not found`);
    assert.match(error.hint ?? '', /expired, was revoked .*resolve its reference again/);
  });

  it('renewal refused: a lease Vault will not renew', async () => {
    const provider = open();
    const [cred] = (await provider.resolve([ref('database/creds/fixed#password')])).map(resolved);
    values.add(cred!.value);
    assert.equal(cred!.lease!.renewable, false);
    failure(await rejection(provider.renew!(cred!.lease!)), 'PROVIDER_FAILED', `Vault at ${vault.url} refused to renew lease ${cred!.lease!.id}: lease is not renewable`);
  });

  it('a lease revoked under a running server: the next renewal says so', async () => {
    const provider = open();
    const [cred] = (await provider.resolve([ref('database/creds/readonly#password')])).map(resolved);
    values.add(cred!.value);
    vault.revokeLease(cred!.lease!.id);
    failure(await rejection(provider.renew!(cred!.lease!)), 'PROVIDER_FAILED', `Vault at ${vault.url} refused to renew lease ${cred!.lease!.id}: lease not found`);
  });
});

describe('vault writes (check-and-set)', () => {
  it('two concurrent writers on one path: both land as successive versions, no update lost', async () => {
    seed('secret/shared', { other: 'kept-field-gggg' });
    const versions = await Promise.all([
      open().store!(ref('secret/data/shared#alpha'), 'alpha-value'),
      open().store!(ref('secret/data/shared#beta'), 'beta-value'),
    ]);
    assert.deepEqual(versions.sort(), ['2', '3']);
    assert.deepEqual(vault.kv2('secret/shared'), { version: 3, data: { other: 'kept-field-gggg', alpha: 'alpha-value', beta: 'beta-value' } });
  });

  it('a writer that loses the check-and-set re-reads once and writes on top of the winner', async () => {
    seed('secret/raced', { value: 'first' });
    let intrusions = 0;
    vault.beforeKvWrite = (path) => {
      if (path === 'secret/data/raced' && intrusions++ === 0) vault.putKv('secret/raced', { value: 'first', intruder: 'theirs' });
    };
    try {
      assert.equal(await open().store!(ref('secret/data/raced#mine'), 'ours'), '3');
    } finally {
      vault.beforeKvWrite = undefined;
    }
    assert.deepEqual(vault.kv2('secret/raced'), { version: 3, data: { value: 'first', intruder: 'theirs', mine: 'ours' } });
    assert.equal(vault.count('POST', 'secret/data/raced'), 2);
  });

  it('another writer winning every time: a clear failure, and nothing of ours lands', async () => {
    seed('secret/contested', { value: 'theirs-0' });
    vault.beforeKvWrite = (path) => void vault.putKv(path.replace('/data/', '/'), { value: 'theirs-again' });
    try {
      values.add('ours-hhhh');
      const error = failure(await rejection(open().store!(ref('secret/data/contested'), 'ours-hhhh')), 'PROVIDER_FAILED',
        `${show('secret/data/contested')}: another writer changed secret/data/contested while mcpd was writing it, twice in a row; this write did not land`);
      assert.match(error.hint ?? '', /run it again/);
    } finally {
      vault.beforeKvWrite = undefined;
    }
    assert.deepEqual(vault.kv2('secret/contested')?.data, { value: 'theirs-again' });
  });

  it('KV v1: a plain write that keeps the other fields', async () => {
    seed('kv/app', { user: 'app-user' });
    const version = await open().store!(ref('kv/app#password'), 'v1-written');
    assert.equal(version, new Date(clock.now()).toISOString());
    assert.deepEqual(await open().resolve([ref('kv/app#user'), ref('kv/app#password')]), [{ value: 'app-user' }, { value: 'v1-written' }]);
  });
});

describe('vault bad inputs', () => {
  const github = 'secret/data/github#token';

  it('unreachable: names the address and the reference', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const [outcome] = await open({}, { VAULT_ADDR: `http://127.0.0.1:${port}`, VAULT_TOKEN: ROOT }).resolve([ref(github)]);
    const error = failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(github)}: Vault at http://127.0.0.1:${port} is not reachable (ECONNREFUSED)`);
    assert.match(error.hint ?? '', /providers\.vault\.address or \$VAULT_ADDR/);
  });

  it('sealed', async () => {
    vault.sealed = true;
    try {
      const [outcome] = await open().resolve([ref(github)]);
      assert.match(failure(outcome, 'PROVIDER_UNAVAILABLE', `${show(github)}: Vault at ${vault.url} is sealed`).hint ?? '', /vault operator unseal/);
    } finally {
      vault.sealed = false;
    }
  });

  it('a Vault that does not answer: PROVIDER_TIMEOUT after the configured timeout', async () => {
    vault.stalled = true;
    try {
      const [outcome] = await open({ timeout: '150ms' }).resolve([ref(github)]);
      failure(outcome, 'PROVIDER_TIMEOUT', `${show(github)}: Vault at ${vault.url} did not answer GET auth/token/lookup-self within 0.15 s`);
    } finally {
      vault.stalled = false;
    }
  });

  it('403: a bad token, and a token without a policy for the path', async () => {
    const [bad] = await open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.not-a-real-token' }).resolve([ref(github)]);
    failure(bad, 'PROVIDER_FAILED', `${show(github)}: Vault at ${vault.url} refused the token from $VAULT_TOKEN (permission denied): it is invalid, revoked or expired`);
    vault.addToken('hvs.narrow', { policies: ['secret/data/single'] });
    const [narrow] = await open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.narrow' }).resolve([ref(github)]);
    failure(narrow, 'PROVIDER_FAILED', `${show(github)}: permission denied for secret/data/github on Vault at ${vault.url} (the token lacks a policy for secret/data/github, or has expired)`);
  });

  it('a missing path, and a missing field listing the fields there are', async () => {
    const outcomes = await open().resolve([ref('secret/data/nothing-here#token'), ref('secret/data/github#tokn'), ref('secret/data/github')]);
    assert.equal(failure(outcomes[0], 'SECRET_NOT_FOUND', `${show('secret/data/nothing-here#token')}: nothing at secret/data/nothing-here on Vault at ${vault.url}`).hint,
      'check the path with: vault read secret/data/nothing-here');
    failure(outcomes[1], 'SECRET_NOT_FOUND', `${show('secret/data/github#tokn')}: secret/data/github has no field "tokn"; its fields are "token", "user"`);
    failure(outcomes[2], 'CONFIG_INVALID', `${show('secret/data/github')} names no field, and secret/data/github has 2: "token", "user"`);
  });

  it('the wrong KV version guessed: the hint gives the path to read', async () => {
    const [v2, v1] = await open().resolve([ref('secret/github#token'), ref('kv/data/legacy#password')]);
    assert.equal(failure(v2, 'SECRET_NOT_FOUND', `${show('secret/github#token')}: nothing at secret/github on Vault at ${vault.url}`).hint,
      'this mount is KV version 2: read secret/data/github');
    assert.equal(failure(v1, 'SECRET_NOT_FOUND', `${show('kv/data/legacy#password')}: nothing at kv/data/legacy on Vault at ${vault.url}`).hint,
      'this mount is KV version 1: read kv/legacy');
  });

  it('a malformed ?version', async () => {
    const [outcome] = await open().resolve([ref('secret/data/github?version=latest#token')]);
    failure(outcome, 'REF_MALFORMED', `malformed reference ${show('secret/data/github?version=latest#token')}: it has ?version=latest; expected a version number from 1 up`);
  });

  it('no address anywhere', async () => {
    const [outcome] = await open({}, { VAULT_TOKEN: ROOT }).resolve([ref(github)]);
    failure(outcome, 'CONFIG_INVALID', `${show(github)}: no Vault address: set providers.vault.address or $VAULT_ADDR`);
  });
});
