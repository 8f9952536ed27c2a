/**
 * The CLI against the Vault double (test/doubles/vault.ts): `mcpd secret set` writes a KV v2
 * version with check-and-set, `mcpd run --no-daemon` injects what it reads, `mcpd secrets check`
 * reports Vault references (revoking the lease a dynamic one was given) and a sealed Vault names
 * the backend and the reference; no value in any output. A plain http:// Vault off this machine
 * is warned about on the CLI's stderr and in the daemon's log.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { VaultDouble } from '../doubles/vault.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
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

describe('mcpd with a plain http:// Vault on another machine', () => {
  const far = 'http://192.0.2.10:8200';
  const warning = `$VAULT_ADDR is ${far}: plain HTTP to another machine, so the Vault token and every secret cross the network unencrypted; use https://`;
  const farEnv = { VAULT_ADDR: far, VAULT_TOKEN: ROOT };

  it('the CLI warns once on stderr, whatever --verbose says', async () => {
    const s = await sandbox();
    try {
      // Nothing answers there (a documentation address): a short timeout ends the attempt.
      await s.writeConfig({ providers: { vault: { type: 'vault', auth: { method: 'token' }, timeout: '300ms' } } });
      const get = await s.cli(['secret', 'get', 'vault:secret/data/github#token'], { env: farEnv });
      assert.equal(get.exitCode, 3, get.stderr);
      assert.deepEqual(get.stderr.split('\n').filter((line) => line.includes('warning')), [`mcpd: warning: ${warning}`]);
      assert.ok(!get.stderr.includes(ROOT), 'the token is never printed');
    } finally {
      await s.cleanup();
    }
  });

  it('the daemon writes it to its log as provider.warning', async () => {
    const s = await sandbox();
    try {
      await s.writeConfig({
        providers: { vault: { type: 'vault', auth: { method: 'token' }, timeout: '300ms' } },
        mcpServers: { far: { command: process.execPath, args: [fixture('print-env.js')], env: { T: '${vault:secret/data/github#token}' } } },
      });
      await startDaemon(s, farEnv);
      const run = await s.cli(['run', 'far']);
      assert.equal(run.exitCode, 3, run.stderr);
      const log = join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log');
      const warned = async () => (await readFile(log, 'utf8')).split('\n').filter((line) => line.includes('"provider.warning"'));
      await waitFor(async () => (await warned()).length > 0, 'provider.warning in daemon.log');
      const [line] = await warned();
      assert.equal((JSON.parse(line!) as { message: string }).message, warning);
      assert.ok(!(await readFile(log, 'utf8')).includes(ROOT), 'the token is never logged');
    } finally {
      await s.cli(['stop']);
      await s.cleanup();
    }
  });
});
