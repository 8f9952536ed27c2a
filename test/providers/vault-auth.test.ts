/**
 * How the Vault provider gets and keeps its token, and reaches Vault over TLS, against the
 * Vault double: token sources, renew-self at two thirds of the TTL (driven by a manual clock,
 * waiting on the double's call log), a fresh AppRole login when renewal fails, CA and server name;
 * where the token may go: no redirect to another host, a warning for plain HTTP off this machine.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { execa } from 'execa';
import { McpdError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import type { ProviderConfigOf } from '../../providers/backends.js';
import type { Provider, Ref, Resolution } from '../../providers/provider.js';
import { ProviderRegistry, type ProviderContext } from '../../providers/registry.js';
import { resolveText } from '../../providers/resolver.js';
import { createVault } from '../../providers/vault.js';
import { VaultDouble } from '../doubles/vault.js';
import { waitFor } from '../helpers/daemon.js';
import { ManualClock } from '../helpers/manual-clock.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-vault-'));
const cleanups: Array<() => Promise<unknown>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  await rm(dir, { recursive: true, force: true });
});

const ref: Ref = { raw: 'vault:secret/data/app#key', provider: 'vault', path: 'secret/data/app#key' };
const shown = '${vault:secret/data/app#key}';

/** A double of its own with one secret, a clock of its own, and a way to open providers on both. */
async function setup(tls?: { key: string; cert: string }) {
  const clock = new ManualClock(Date.parse('2030-01-01T00:00:00Z'));
  const vault = await VaultDouble.start({ now: () => clock.now(), ...(tls ? { tls } : {}) });
  vault.mountKv('secret', 2);
  vault.putKv('secret/app', { key: 'app-value-1234' });
  vault.addToken('hvs.root');
  cleanups.push(() => vault.close());
  const notes: string[] = [];
  const warnings: string[] = [];
  const open = (config: Partial<ProviderConfigOf<'vault'>>, env: Env): Provider => {
    const registry = new ProviderRegistry({}, { env });
    const ctx: ProviderContext = { env, registry, note: (m) => notes.push(m), warn: (m) => warnings.push(m), resolveSetting: (text, where) => resolveText(text, registry, where) };
    const provider = createVault('vault', { type: 'vault', auth: { method: 'token' }, timeout: '10s', ...config }, ctx, { clock, random: () => 0.5 });
    cleanups.push(() => provider.close());
    return provider;
  };
  return { clock, vault, notes, warnings, open };
}

async function value(provider: Provider): Promise<string> {
  const [outcome] = await provider.resolve([ref]);
  if (outcome === undefined || outcome instanceof McpdError) assert.fail(`expected a value, got ${outcome?.message}`);
  return outcome.value;
}

function failure(outcome: Resolution | undefined, code: string, message: string): McpdError {
  assert.ok(outcome instanceof McpdError, `expected ${code}, got ${JSON.stringify(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  assert.equal(outcome.message, message);
  assert.ok(!outcome.format().includes('app-value-1234'), 'a value leaked into the message');
  return outcome;
}

const renewSelf = (c: { path: string }) => c.path === 'auth/token/renew-self';

describe('vault token sources', () => {
  it('auth.token and address may be references; else $VAULT_TOKEN; else ~/.vault-token', async () => {
    const { vault, open } = await setup();
    const fromSetting = open({ address: '${MY_VAULT_ADDR}', auth: { method: 'token', token: '${MY_VAULT_TOKEN}' } }, { MY_VAULT_ADDR: vault.url, MY_VAULT_TOKEN: 'hvs.root' });
    assert.equal(await value(fromSetting), 'app-value-1234');
    const home = join(dir, 'home');
    await mkdir(home, { recursive: true });
    await writeFile(join(home, '.vault-token'), 'hvs.root\n');
    assert.equal(await value(open({}, { VAULT_ADDR: vault.url, HOME: home })), 'app-value-1234');
  });

  it('the built-in "vault" provider works from $VAULT_ADDR and $VAULT_TOKEN alone', async () => {
    const { vault } = await setup();
    const registry = new ProviderRegistry({}, { env: { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' } });
    cleanups.push(() => registry.close());
    assert.equal(await value(await registry.get('vault')), 'app-value-1234');
  });

  it('no token anywhere: says where it looked', async () => {
    const { vault, open } = await setup();
    const [outcome] = await open({}, { VAULT_ADDR: vault.url, HOME: join(dir, 'empty-home') }).resolve([ref]);
    const error = failure(outcome, 'CONFIG_INVALID', `${shown}: no Vault token for provider "vault": providers.vault.auth.token, $VAULT_TOKEN and ~/.vault-token are all unset or empty`);
    assert.match(error.hint ?? '', /vault login/);
  });
});

describe('vault token renewal', () => {
  it('a token with a TTL is renewed before it expires, again and again, until close()', async () => {
    const { clock, vault, open } = await setup();
    vault.addToken('hvs.short', { ttl: 30 });
    const provider = open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.short' });
    assert.equal(await value(provider), 'app-value-1234');
    assert.equal(clock.pending, 1, 'a renewal is scheduled');
    for (let round = 1; round <= 3; round++) {
      const expiry = vault.tokenExpiresAt('hvs.short')!;
      clock.advance(20_000); // two thirds of 30 s; the jitter only makes it earlier
      assert.ok(clock.now() < expiry, 'still before the token expires');
      await vault.waitForCalls(renewSelf, round);
      await waitFor(async () => clock.pending === 1, 'the next renewal to be scheduled', 5000);
      assert.equal(vault.tokenExpiresAt('hvs.short'), clock.now() + 30_000);
    }
    assert.equal(await value(provider), 'app-value-1234', 'the token outlived its first TTL');
    await provider.close();
    assert.equal(clock.pending, 0, 'close() stops the renewal timer');
  });

  it('a refused renewal: once the token expires, reads fail saying why', async () => {
    const { clock, vault, notes, open } = await setup();
    vault.addToken('hvs.doomed', { ttl: 30 });
    const provider = open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.doomed' });
    const expiry = clock.now() + 30_000;
    assert.equal(await value(provider), 'app-value-1234');
    vault.revokeToken('hvs.doomed');
    clock.advance(20_000);
    await vault.waitForCalls(renewSelf);
    await waitFor(async () => notes.some((n) => n.startsWith('renewing the Vault token from $VAULT_TOKEN failed')), 'the failed renewal to be noted', 5000);
    clock.advance(10_001);
    const [outcome] = await provider.resolve([ref]);
    const denied = `permission denied for auth/token/renew-self on Vault at ${vault.url} (the token lacks a policy for auth/token/renew-self, or has expired)`;
    const error = failure(outcome, 'PROVIDER_FAILED', `${shown}: the Vault token from $VAULT_TOKEN for provider "vault" expired at ${new Date(expiry).toISOString()}; renewing it failed: ${denied}`);
    assert.match(error.hint ?? '', /log in again/);
  });

  it('AppRole: logs in, renews, and logs in afresh when renewal fails', async () => {
    const { clock, vault, notes, open } = await setup();
    vault.addAppRole('role-app', 'secret-id-app', { ttl: 30 });
    const env = { VAULT_ADDR: vault.url, ROLE_ID: 'role-app', SECRET_ID: 'secret-id-app' };
    const provider = open({ auth: { method: 'approle', roleId: '${ROLE_ID}', secretId: '${SECRET_ID}', mount: 'approle' } }, env);
    assert.equal(await value(provider), 'app-value-1234');
    assert.equal(vault.issuedTokens.length, 1);
    clock.advance(20_000);
    await vault.waitForCalls(renewSelf);
    await waitFor(async () => clock.pending === 1, 'the next renewal to be scheduled', 5000);

    vault.revokeToken(vault.issuedTokens[0]!);
    clock.advance(20_000);
    await vault.waitForCalls((c) => c.path === 'auth/approle/login', 2);
    await waitFor(async () => clock.pending === 1, 'the new token\'s renewal to be scheduled', 5000);
    assert.equal(vault.issuedTokens.length, 1, 'the old token is gone, a new one issued');
    assert.ok(notes.some((n) => n.includes('logging in again')), notes.join('\n'));
    assert.equal(await value(provider), 'app-value-1234');
    await provider.close();
    assert.equal(clock.pending, 0);
  });

  it('AppRole login failure: names the login path, never the secret id', async () => {
    const { vault, open } = await setup();
    vault.addAppRole('role-app', 'secret-id-app');
    const provider = open({ auth: { method: 'approle', roleId: 'role-app', secretId: '${SECRET_ID}', mount: 'approle' } }, { VAULT_ADDR: vault.url, SECRET_ID: 'wrong-secret-id-5678' });
    const [outcome] = await provider.resolve([ref]);
    const error = failure(outcome, 'PROVIDER_FAILED', `${shown}: AppRole login at auth/approle/login on Vault at ${vault.url} failed: invalid role or secret ID`);
    assert.ok(!error.format().includes('wrong-secret-id-5678'));
    assert.match(error.hint ?? '', /providers\.vault\.auth\.roleId and secretId/);
  });
});

describe('vault over TLS', () => {
  it('trusts tls.caFile and checks tls.serverName; says what to set when verification fails', async () => {
    const key = join(dir, 'key.pem');
    const cert = join(dir, 'cert.pem');
    await execa('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=vault.test', '-addext', 'subjectAltName=DNS:vault.test']);
    const { vault, open } = await setup({ key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') });
    const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' };
    assert.match(vault.url, /^https:/);
    assert.equal(await value(open({ tls: { caFile: cert, serverName: 'vault.test' } }, env)), 'app-value-1234');
    assert.equal(await value(open({}, { ...env, VAULT_CACERT: cert, VAULT_TLS_SERVER_NAME: 'vault.test' })), 'app-value-1234');

    // node-vault reads $VAULT_SKIP_VERIFY from the process itself: a stray one in the daemon's environment must change nothing.
    process.env.VAULT_SKIP_VERIFY = '1';
    try {
      const [untrusted] = await open({}, env).resolve([ref]);
      failure(untrusted, 'PROVIDER_UNAVAILABLE', `${shown}: Vault at ${vault.url} did not pass TLS verification (DEPTH_ZERO_SELF_SIGNED_CERT)`);
    } finally {
      delete process.env.VAULT_SKIP_VERIFY;
    }
    const [wrongName] = await open({ tls: { caFile: cert } }, env).resolve([ref]);
    assert.match(failure(wrongName, 'PROVIDER_UNAVAILABLE', `${shown}: Vault at ${vault.url} did not pass TLS verification (ERR_TLS_CERT_ALTNAME_INVALID)`).hint ?? '', /tls\.serverName/);
    const [noFile] = await open({ tls: { caFile: join(dir, 'missing.pem') } }, env).resolve([ref]);
    failure(noFile, 'CONFIG_INVALID', `${shown}: providers.vault.tls.caFile: cannot read ${join(dir, 'missing.pem')} (ENOENT)`);
  });
});

describe('where the Vault token goes', () => {
  it('a 307 to another host is refused before anything is sent there: PROVIDER_FAILED naming both, the token never arrives', async () => {
    const { vault, open } = await setup();
    // 127.0.0.2: another address of this machine stands for another machine (Linux routes all of 127/8 to loopback).
    const other = await VaultDouble.start({ host: '127.0.0.2' });
    cleanups.push(() => other.close());
    other.mountKv('secret', 2);
    other.putKv('secret/app', { key: 'app-value-1234' });
    other.addToken('hvs.root');
    vault.redirect = (url) => `${other.url}${url}`;
    const [outcome] = await open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' }).resolve([ref]);
    const error = failure(outcome, 'PROVIDER_FAILED', `${shown}: Vault at ${vault.url} redirected GET auth/token/lookup-self to ${other.url}, another host; mcpd does not send the Vault token there and followed no further`);
    assert.equal(error.hint, `if ${other.url} is your Vault (a cluster's active node, which a standby redirects to), set providers.vault.address or $VAULT_ADDR to it; else find out why ${vault.url} redirects`);
    assert.deepEqual(vault.tokensSeen, ['hvs.root'], 'the first request carried it, to the configured address');
    assert.deepEqual(other.tokensSeen, [], 'nothing reached the other host');
  });

  it('the same refusal for a write: the value goes nowhere either', async () => {
    const { vault, open } = await setup();
    const other = await VaultDouble.start({ host: '127.0.0.2' });
    cleanups.push(() => other.close());
    const provider = open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' });
    assert.equal(await value(provider), 'app-value-1234');
    vault.redirect = (url, method) => (method === 'POST' ? `${other.url}${url}` : undefined);
    await assert.rejects(provider.store!(ref, 'written-value-5678'), (error: unknown) => {
      assert.ok(error instanceof McpdError && error.code === 'PROVIDER_FAILED', String(error));
      assert.match(error.message, new RegExp(`redirected POST secret/data/app to ${other.url}, another host`));
      assert.ok(!error.format().includes('written-value-5678'));
      return true;
    });
    assert.deepEqual(other.tokensSeen, []);
    assert.equal(vault.kv2('secret/app')?.data.key, 'app-value-1234');
  });

  it('a 307 within the same address is followed, token and all', async () => {
    const { vault, open } = await setup();
    vault.redirect = (url) => (url.includes('hop=1') ? undefined : `${url}${url.includes('?') ? '&' : '?'}hop=1`);
    assert.equal(await value(open({}, { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.root' })), 'app-value-1234');
    assert.ok(vault.calls.some((c) => c.path === 'secret/data/app?hop=1'), JSON.stringify(vault.calls));
  });

  it('plain http:// to another machine: one warning per address, naming the setting; none for loopback or https', async () => {
    const { vault, warnings, open } = await setup();
    const env = { VAULT_TOKEN: 'hvs.root' };
    // Nothing listens there: the warning comes before the first request, and a short timeout ends it.
    const remote = 'http://192.0.2.10:8200';
    for (let i = 0; i < 2; i++) await open({ address: remote, timeout: '200ms' }, env).resolve([ref]);
    await open({}, { ...env, VAULT_ADDR: 'http://198.51.100.7:8200', VAULT_TOKEN: 'hvs.root' }).resolve([ref]).catch(() => {});
    assert.deepEqual(warnings, [
      `providers.vault.address is ${remote}: plain HTTP to another machine, so the Vault token and every secret cross the network unencrypted; use https://`,
      '$VAULT_ADDR is http://198.51.100.7:8200: plain HTTP to another machine, so the Vault token and every secret cross the network unencrypted; use https://',
    ]);
    warnings.length = 0;
    const port = new URL(vault.url).port;
    for (const address of [vault.url, `http://localhost:${port}`, `http://[::1]:${port}`, `http://127.0.0.2:${port}`, 'https://192.0.2.10:8200']) {
      await open({ address, timeout: '200ms' }, env).resolve([ref]);
    }
    assert.deepEqual(warnings, []);
  });
});
