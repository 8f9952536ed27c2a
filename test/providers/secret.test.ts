/**
 * `${secret:PATH}`: the OS keychain where one answers, else the local store. In-process the
 * backend is whatever this machine has (both branches run: CI has a keychain, the CLI tests'
 * sandboxes have none).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Ref } from '../../providers/provider.js';
import { keychainAnswers, keychainEntry } from '../../providers/keychain.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { keychainSkipReason } from '../helpers/keychain.js';
import { conformance } from './conformance.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-secret-'));
after(() => rm(dir, { recursive: true, force: true }));
const env = { HOME: dir, XDG_DATA_HOME: join(dir, 'data') };
const providers = { local: { type: 'local', key: 'file' } } as const;
const skip = await keychainSkipReason();
const backend = (await keychainAnswers()) ? 'OS keychain' : 'local store';

const secretRef = (path: string): Ref => ({ raw: `secret:${path}`, provider: 'secret', path });

conformance(`secret (${backend})`, async () => {
  const registry = new ProviderRegistry(providers, { env });
  const provider = await registry.get('secret');
  return {
    provider,
    ref: secretRef,
    cleanup: async () => {
      for (const ref of await provider.list!('conformance-').catch(() => [])) await provider.remove!(ref).catch(() => {});
      await registry.close();
    },
  };
});

describe('secret: with a keychain', { skip: skip ?? false }, () => {
  it('stores in the keychain (service mcpd, account PATH)', async () => {
    const path = `secret-test/${randomBytes(4).toString('hex')}`;
    const registry = new ProviderRegistry(providers, { env });
    await (await registry.get('secret')).store!(secretRef(path), 'in-the-keychain');
    const entry = await keychainEntry('mcpd', path);
    assert.equal(await entry.getPassword(), 'in-the-keychain');
    await entry.deleteCredential();
  });

  it('finds a secret stored in the local store while the keychain was down', async () => {
    const path = `secret-test/${randomBytes(4).toString('hex')}`;
    const registry = new ProviderRegistry(providers, { env });
    await (await registry.get('local')).store!({ raw: `local:${path}`, provider: 'local', path }, 'stored-headless');
    const [outcome] = await (await registry.get('secret')).resolve([secretRef(path)]);
    assert.deepEqual(outcome, { value: 'stored-headless', version: '1' });
    const listed = await (await registry.get('secret')).list!('secret-test');
    assert.ok(listed.some((ref) => ref.raw === `secret:${path}`), 'ls shows it too');
  });

  it('missing from both: one error naming the reference and both places', async () => {
    const [outcome] = await (await new ProviderRegistry(providers, { env }).get('secret')).resolve([secretRef('secret-test/absent')]);
    assert.ok(outcome instanceof McpdError && outcome.code === 'SECRET_NOT_FOUND');
    assert.equal(outcome.message, '${secret:secret-test/absent}: no such secret in the OS keychain (service mcpd) or the local store');
    assert.equal(outcome.hint, 'store it with: mcpd secret set secret-test/absent');
  });
});
