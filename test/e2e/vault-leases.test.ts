/**
 * Vault dynamic secrets end to end: real server-everything processes, driven by the SDK
 * Client through `mcpd run`, get database credentials from the Vault double (test/doubles/
 * vault.ts: no real Vault can run here). Each running server has a lease of its own, revoked
 * when its session closes, when it crashes (its restart gets a new one), when the daemon stops,
 * and when `mcpd run --no-daemon` exits; a lease that cannot be renewed is replaced, with the
 * server, before it ends, while the host app keeps its session.
 */
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { VaultDouble } from '../doubles/vault.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const ROOT = 'hvs.e2e-root-token';

const vault = await VaultDouble.start();
vault.addToken(ROOT);
// `short` leases last 3 s and cannot be renewed: the daemon must move its server onto a new one before then.
vault.mountDatabase('database', { readonly: { ttl: 3600 }, short: { ttl: 3, renewable: false } });
const vaultEnv = { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT };

const dbServer = (role: string) => ({
  command: process.execPath,
  args: [everything, 'stdio'],
  env: { PGUSER: `\${vault:database/creds/${role}#username}`, PGPASSWORD: `\${vault:database/creds/${role}#password}` },
});

async function connect(s: Sandbox, args: string[]): Promise<Client> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', ...args], env: { ...s.env, ...vaultEnv }, stderr: 'pipe' });
  transport.stderr?.on('data', () => {});
  const client = new Client({ name: 'mcpd-vault-e2e', version: '1.0.0' });
  await client.connect(transport);
  return client;
}

/** The credential the double issued that this server was given. */
async function credentialOf(client: Client) {
  const env = await serverEnv(client);
  const cred = vault.issued.find((c) => c.password === env.PGPASSWORD);
  assert.ok(cred, 'the server got a password the double issued');
  assert.equal(env.PGUSER, cred.username, 'both fields come from one read, one lease');
  return cred;
}

const revoked = (leaseId: string) => async () => vault.revoked.includes(leaseId);

describe('Vault leases through the daemon', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { db: dbServer('readonly'), short: dbServer('short') },
      daemon: { restart: { initialDelay: '100ms' } },
    });
    await startDaemon(s, vaultEnv);
  });
  after(async () => {
    await s.cleanup();
    await vault.close();
  });

  it('each session has a lease of its own, shown in status and revoked when the session closes', async () => {
    const a = await connect(s, ['db']);
    const b = await connect(s, ['db']);
    const credA = await credentialOf(a);
    const credB = await credentialOf(b);
    assert.notEqual(credA.leaseId, credB.leaseId, 'a leased secret is never shared between two instances');
    assert.ok(vault.leaseAlive(credA.leaseId) && vault.leaseAlive(credB.leaseId));

    const status = await s.cli(['status', '--json']);
    const db = (JSON.parse(status.stdout) as { servers: Array<{ name: string; instances: Array<{ leases: Array<{ ref: string }> }> }> }).servers.find((x) => x.name === 'db')!;
    assert.deepEqual(db.instances.map((i) => i.leases.map((l) => l.ref)), [['${vault:database/creds/readonly#username}'], ['${vault:database/creds/readonly#username}']]);
    for (const value of [credA.password, credB.password, credA.username]) assert.ok(!status.stdout.includes(value), 'status shows references, never values');

    await a.close();
    await waitFor(revoked(credA.leaseId), 'the closed session\'s lease to be revoked');
    assert.ok(vault.leaseAlive(credB.leaseId), 'the other session\'s lease stands');
    await b.close();
    await waitFor(revoked(credB.leaseId), 'the second lease to be revoked');
  });

  it('a server that crashes: its lease is revoked, and the restarted server has a new one', async () => {
    const client = await connect(s, ['db']);
    const first = await credentialOf(client);
    const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { servers: Array<{ name: string; instances: Array<{ pid: number }> }> };
    process.kill(status.servers.find((x) => x.name === 'db')!.instances[0]!.pid, 'SIGKILL');
    await waitFor(revoked(first.leaseId), 'the crashed server\'s lease to be revoked');
    await waitFor(async () => vault.issued.length > vault.issued.indexOf(first) + 1, 'a new credential for the restarted server');
    const second = await credentialOf(client);
    assert.notEqual(second.leaseId, first.leaseId);
    assert.ok(vault.leaseAlive(second.leaseId));
    await client.close();
    await waitFor(revoked(second.leaseId), 'the second lease to be revoked');
  });

  it('a lease that cannot be renewed: the server moves to a fresh one before it ends, and the session goes on', async () => {
    const client = await connect(s, ['short']);
    const first = await credentialOf(client);
    await waitFor(revoked(first.leaseId), 'the old lease to be replaced and revoked', 10_000);
    const second = await credentialOf(client);
    assert.notEqual(second.password, first.password, 'the server has the new credential');
    assert.ok(vault.leaseAlive(second.leaseId));
    assert.deepEqual(await client.ping(), {}, 'one unbroken session');
    await client.close();
  });

  it('mcpd stop revokes the leases of every running server', async () => {
    const client = await connect(s, ['db']);
    const cred = await credentialOf(client);
    const stopped = await s.cli(['stop']);
    assert.equal(stopped.exitCode, 0, stopped.stderr);
    assert.ok(vault.revoked.includes(cred.leaseId), 'revoked before the daemon was gone');
    await client.close();
    await startDaemon(s, vaultEnv);
  });

  it('mcpd run --no-daemon keeps the lease while the server runs and revokes it when it exits', async () => {
    const client = await connect(s, ['--no-daemon', 'db']);
    const cred = await credentialOf(client);
    assert.ok(vault.leaseAlive(cred.leaseId));
    await client.close();
    await waitFor(revoked(cred.leaseId), 'the --no-daemon lease to be revoked');
  });
});
