/**
 * The CLI against the Vault double (test/doubles/vault.ts): `mcpd secret set` writes a KV v2
 * version with check-and-set, `mcpd run --no-daemon` injects what it reads, `mcpd secrets check`
 * reports Vault references (revoking the lease a dynamic one was given) and a sealed Vault names
 * the backend and the reference; no value in any output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { VaultDouble } from '../doubles/vault.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { fixture } from '../helpers/repo.js';

const ROOT = 'hvs.cli-root-token';
const vault = await VaultDouble.start();
vault.addToken(ROOT);
vault.mountKv('secret', 2);
vault.mountDatabase('database', { ro: { ttl: 600 } });
const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT };

describe('mcpd with the Vault provider', () => {
  let s: Sandbox;
  const value = 'ghp_vaultcli_value_7c21aa';
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { db: { command: 'x', env: { P: '${vault:database/creds/ro#password}', T: '${vault:secret/data/github#token}' } } } });
  });
  after(async () => {
    await s.cleanup();
    await vault.close();
  });

  it('secret set writes a new KV v2 version with check-and-set; run --no-daemon injects it', async () => {
    const set = await s.cli(['secret', 'set', 'vault:secret/data/github#token'], { input: value, env });
    assert.equal(set.exitCode, 0, set.stderr);
    assert.equal(set.stderr, 'stored ${vault:secret/data/github#token} (version 1)\n');
    assert.ok(vault.calls.some((c) => c.method === 'POST' && c.path === 'secret/data/github'));
    const run = await s.cli(['run', '--no-daemon', '-e', 'GH=${vault:secret/data/github#token}', '--', process.execPath, fixture('print-env.js')], { env });
    assert.equal(run.exitCode, 0, run.stderr);
    assert.equal((JSON.parse(run.stdout) as Record<string, string>).GH, value);
    assert.ok(!run.stderr.includes(value));
  });

  it('secrets check reports Vault references by name and gives back the lease it was granted', async () => {
    const check = await s.cli(['secrets', 'check'], { env });
    assert.equal(check.exitCode, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /^ok {5}\$\{vault:database\/creds\/ro#password\} \(vault\) used by db$/m);
    const issued = vault.issued.at(-1)!;
    assert.deepEqual(vault.revoked, [issued.leaseId]);
    for (const secret of [value, issued.password]) assert.ok(!check.stdout.includes(secret) && !check.stderr.includes(secret));
  });

  it('a sealed Vault: the launch fails with exit 3, naming the backend and the reference', async () => {
    vault.sealed = true;
    try {
      const run = await s.cli(['run', '--no-daemon', '-e', 'GH=${vault:secret/data/github#token}', '--', process.execPath, fixture('print-env.js')], { env });
      assert.equal(run.exitCode, 3, run.stderr);
      assert.match(run.stderr, new RegExp(`-e GH: \\$\\{vault:secret/data/github#token\\}: Vault at ${vault.url.replace(/\./g, '\\.')} is sealed`));
      assert.match(run.stderr, /hint: unseal it/);
      assert.equal(run.stdout, '', 'nothing was started');
    } finally {
      vault.sealed = false;
    }
  });
});
