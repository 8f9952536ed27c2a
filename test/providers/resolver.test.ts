import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { resolveEnv } from '../../providers/resolver.js';
import { VaultDouble } from '../doubles/vault.js';

const registry = (env: Record<string, string>) => new ProviderRegistry({}, { env });
const at = (variable: string) => `mcpServers.s.env.${variable}`;

describe('resolver', () => {
  it('renders literals and several references; lists each value for masking', async () => {
    const out = await resolveEnv({ env: { AUTH: 'Bearer ${TOKEN}', URL: 'https://${USER_}:${PASS}@h' } }, registry({ TOKEN: 'tok-123456', USER_: 'me', PASS: 'pw-abcdef' }), at);
    assert.deepEqual(out.env, { AUTH: 'Bearer tok-123456', URL: 'https://me:pw-abcdef@h' });
    assert.deepEqual(out.secrets.map((s) => s.value).sort(), ['me', 'pw-abcdef', 'tok-123456']);
  });

  it('drops a variable whose references all resolved empty (Bearer ${TOKEN} with TOKEN empty)', async () => {
    const out = await resolveEnv({ env: { AUTH: 'Bearer ${TOKEN}', KEEP: 'x' } }, registry({ TOKEN: '' }), at);
    assert.deepEqual(out.env, { KEEP: 'x' });
    assert.deepEqual(out.dropped.map((d) => d.variable), ['AUTH']);
  });

  it('an empty value from a secret store is an error naming the variable, unless optional', async () => {
    const { mkdtemp, writeFile } = await import('node:fs/promises');
    const { join } = await import('node:path');
    const { tmpdir } = await import('node:os');
    const dir = await mkdtemp(join(tmpdir(), 'mcpd-resolver-'));
    await writeFile(join(dir, 'empty'), '');
    const spec = { env: { TOKEN: `\${file:${dir}/empty}` } };
    await assert.rejects(resolveEnv(spec, registry({}), at), (e: unknown) => {
      assert.ok(e instanceof McpdError);
      assert.equal(e.code, 'SECRET_EMPTY');
      assert.equal(e.message, `mcpServers.s.env.TOKEN: \${file:${dir}/empty} resolved to an empty value`);
      assert.match(e.hint!, /"optional"/);
      return true;
    });
    const out = await resolveEnv({ ...spec, optional: ['TOKEN'] }, registry({}), at);
    assert.deepEqual(out.env, {});
  });

  it('reports every failing reference at once, by variable and reference', async () => {
    await assert.rejects(resolveEnv({ env: { A: '${NOPE_A}', B: '${NOPE_B}', C: 'fine' } }, registry({}), at), (e: unknown) => {
      assert.ok(e instanceof McpdError);
      assert.equal(e.code, 'SECRET_UNRESOLVED');
      assert.match(e.message, /^2 references could not be resolved:/);
      assert.match(e.message, /mcpServers\.s\.env\.A: environment variable NOPE_A is not set/);
      assert.match(e.message, /mcpServers\.s\.env\.B: environment variable NOPE_B is not set/);
      return true;
    });
  });

  it('resolves a reference used twice once', async () => {
    let calls = 0;
    const reg = registry({});
    const provider = { name: 'count', resolve: async (refs: readonly { raw: string }[]) => refs.map(() => ({ value: `v${++calls}-xxxxxx` })), close: async () => {} };
    reg.get = async () => provider;
    const out = await resolveEnv({ env: { A: '${count:x}', B: '${count:x}' } }, reg, at);
    assert.equal(calls, 1);
    assert.equal(out.env.A, out.env.B);
  });
});

describe('resolver and leases', () => {
  it('returns each lease once, and revokes them all when another reference of the launch fails', async () => {
    const vault = await VaultDouble.start();
    try {
      vault.addToken('hvs.t');
      vault.mountDatabase('database', { ro: { ttl: 3600 } });
      const reg = registry({ VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.t' });
      const good = { USER: '${vault:database/creds/ro#username}', PASS: '${vault:database/creds/ro#password}' };
      const out = await resolveEnv({ env: good }, reg, at);
      assert.deepEqual(out.leases.map((l) => [l.ref.raw, l.lease.id]), [['vault:database/creds/ro#username', vault.issued[0]!.leaseId]]);

      await assert.rejects(resolveEnv({ env: { ...good, GONE: '${NOT_SET_ANYWHERE}' } }, reg, at), { code: 'ENV_UNSET' });
      assert.equal(vault.issued.length, 2);
      assert.deepEqual(vault.revoked, [vault.issued[1]!.leaseId], 'the failed launch\'s lease is given back; the first launch\'s stands');
      await reg.close();
    } finally {
      await vault.close();
    }
  });
});
