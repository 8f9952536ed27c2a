/**
 * The OS keychain for real: gnome-keyring on a D-Bus session bus (.ci/run starts one). Where
 * none runs, these skip with the reason; CI sets MCPD_REQUIRE_KEYCHAIN=1 so they fail instead.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Ref } from '../../providers/provider.js';
import { keychainEntry } from '../../providers/keychain.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { keychainSkipReason } from '../helpers/keychain.js';
import { sandbox } from '../helpers/sandbox.js';
import { conformance } from './conformance.js';

const skip = await keychainSkipReason();
const dir = await mkdtemp(join(tmpdir(), 'mcpd-keychain-'));
after(() => rm(dir, { recursive: true, force: true }));

const keychainRef = (path: string): Ref => ({ raw: `keychain:${path}`, provider: 'keychain', path });
const localRef = (path: string): Ref => ({ raw: `local:${path}`, provider: 'local', path });

const created: Array<{ service: string; account: string }> = [];
after(async () => {
  for (const { service, account } of created) await (await keychainEntry(service, account)).deleteCredential().catch(() => false);
});

conformance('keychain', async () => {
  const provider = await new ProviderRegistry({}, { env: {} }).get('keychain');
  return {
    provider,
    ref: keychainRef,
    // Entries a failed test leaves behind would pile up in the developer's own keyring.
    cleanup: async () => {
      for (const ref of await provider.list!('mcpd').catch(() => [])) {
        if (ref.path.startsWith('mcpd/conformance-')) await provider.remove!(ref).catch(() => {});
      }
    },
  };
}, { skip });

describe('keychain', { skip: skip ?? false }, () => {
  it('`keychain:SERVICE/ACCOUNT` and `keychain:ACCOUNT` (the configured service) are the entries other tools see', async () => {
    const account = `acct-${randomBytes(4).toString('hex')}`;
    created.push({ service: 'mcpd-test-svc', account }, { service: 'custom-svc', account });
    await (await keychainEntry('mcpd-test-svc', account)).setPassword('written-by-another-tool');
    const registry = new ProviderRegistry({ kc: { type: 'keychain', service: 'custom-svc' } }, { env: {} });
    const [explicit] = await (await registry.get('keychain')).resolve([keychainRef(`mcpd-test-svc/${account}`)]);
    assert.deepEqual(explicit, { value: 'written-by-another-tool' });
    await (await registry.get('kc')).store!({ raw: `kc:${account}`, provider: 'kc', path: account }, 'stored-by-mcpd');
    assert.equal(await (await keychainEntry('custom-svc', account)).getPassword(), 'stored-by-mcpd');
  });

  it('a missing entry names the service and account and how to store it', async () => {
    const [outcome] = await (await new ProviderRegistry({}, { env: {} }).get('keychain')).resolve([keychainRef('mcpd-test-svc/absent-entry')]);
    assert.ok(outcome instanceof McpdError);
    assert.equal(outcome.message, '${keychain:mcpd-test-svc/absent-entry}: no such entry in the OS keychain (service "mcpd-test-svc", account "absent-entry")');
    assert.equal(outcome.hint, 'store it with: mcpd secret set keychain:mcpd-test-svc/absent-entry');
  });

  it('a local store with key "keychain" (and "auto" where a keychain answers) keeps its key there', async () => {
    for (const key of ['keychain', 'auto'] as const) {
      const path = join(dir, `${key}.json`);
      created.push({ service: 'mcpd', account: `local-store-key:${path}` });
      const local = await new ProviderRegistry({ local: { type: 'local', key, path } }, { env: {} }).get('local');
      await local.store!(localRef('a'), 'value-a');
      const header = (JSON.parse(await readFile(path, 'utf8')) as { key: { source: string } }).key;
      assert.equal(header.source, 'keychain');
      const stored = await (await keychainEntry('mcpd', `local-store-key:${path}`)).getPassword();
      assert.equal(Buffer.from(stored ?? '', 'base64').length, 32, 'a 256-bit key');
      const reopened = await new ProviderRegistry({ local: { type: 'local', key, path } }, { env: {} }).get('local');
      assert.deepEqual(await reopened.resolve([localRef('a')]), [{ value: 'value-a', version: '1' }]);
    }
  });

  it('a store whose key left the keychain: STORE_KEY_MISSING, telling what to do', async () => {
    const path = join(dir, 'lost.json');
    await (await new ProviderRegistry({ local: { type: 'local', key: 'keychain', path } }, { env: {} }).get('local')).store!(localRef('a'), 'value-a');
    await (await keychainEntry('mcpd', `local-store-key:${path}`)).deleteCredential();
    const reopened = await new ProviderRegistry({ local: { type: 'local', key: 'keychain', path } }, { env: {} }).get('local');
    await assert.rejects(reopened.resolve([localRef('a')]), (error: unknown) => {
      assert.ok(error instanceof McpdError && error.code === 'STORE_KEY_MISSING');
      assert.match(error.message, /its key is kept in the OS keychain, which does not answer or no longer holds it/);
      assert.match(error.hint ?? '', /unlock the keychain/);
      return true;
    });
  });

  it('a store whose file went missing while its key stayed: STORE_MISSING, the key kept; mcpd secret rm as the hint says, then a new store', async () => {
    const path = join(dir, 'gone', 'store.json');
    const account = `local-store-key:${path}`;
    created.push({ service: 'mcpd', account });
    const open = () => new ProviderRegistry({ local: { type: 'local', key: 'keychain', path } }, { env: {} }).get('local');
    await (await open()).store!(localRef('a'), 'value-a');
    const key = await (await keychainEntry('mcpd', account)).getPassword();
    await rm(path);
    await assert.rejects((await open()).store!(localRef('b'), 'value-b'), (error: unknown) => {
      assert.ok(error instanceof McpdError && error.code === 'STORE_MISSING', String(error));
      assert.equal(error.message, `the local store ${path} is missing, but the OS keychain still holds its key (service "mcpd", account "${account}"); mcpd will not make a new store over that key, as a backup of the old store would then never open again`);
      assert.equal(error.hint, `restore ${path} from a backup; or, if that store is gone for good, delete the old key with: mcpd secret rm keychain:mcpd/${account}`);
      return true;
    });
    assert.equal(await (await keychainEntry('mcpd', account)).getPassword(), key, 'the old key is untouched');
    const s = await sandbox({ keychain: true });
    try {
      await s.writeConfig({});
      const removed = await s.cli(['secret', 'rm', `keychain:mcpd/${account}`]);
      assert.equal(removed.exitCode, 0, removed.stderr);
    } finally {
      await s.cleanup();
    }
    await (await open()).store!(localRef('b'), 'value-b');
    assert.notEqual(await (await keychainEntry('mcpd', account)).getPassword(), key, 'a new store, a new key');
  });
});

describe('keychain unreachable (no D-Bus session)', () => {
  it('`secret get keychain:…` fails with PROVIDER_UNAVAILABLE, suggesting the local store, and exits 3', async () => {
    const s = await sandbox(); // a child without DBUS_SESSION_BUS_ADDRESS
    try {
      await s.writeConfig({});
      const result = await s.cli(['secret', 'get', 'keychain:svc/acct']);
      assert.equal(result.exitCode, 3, result.stderr);
      assert.match(result.stderr, /the OS keychain is not reachable while resolving \$\{keychain:svc\/acct\}/);
      assert.match(result.stderr, /mcpd secret set local:PATH/);
    } finally {
      await s.cleanup();
    }
  });
});
