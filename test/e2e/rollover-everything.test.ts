/**
 * Rollover end to end: the SDK Client keeps one session to `mcpd run NAME` (real
 * server-everything behind the daemon) busy with requests while the secret changes and
 * `mcpd restart NAME --roll` moves the server onto it. No request fails, the session never
 * closes, get-env then shows the new value, the old process is gone, and a Vault lease it held
 * (the Vault double) is revoked.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { VaultDouble } from '../doubles/vault.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain } from '../helpers/repo.js';
import { alive } from '../helpers/procs.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const ROOT = 'hvs.rollover-root-token';
const vault = await VaultDouble.start();
vault.addToken(ROOT);
vault.mountDatabase('database', { readonly: { ttl: 3600 } });
const vaultEnv = { VAULT_ADDR: vault.url, VAULT_TOKEN: ROOT };

async function connect(s: Sandbox, name: string): Promise<{ client: Client; closed: () => boolean }> {
  const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', name], env: { ...s.env, ...vaultEnv }, stderr: 'pipe' });
  transport.stderr?.on('data', () => {});
  const client = new Client({ name: 'mcpd-rollover-e2e', version: '1.0.0' });
  let closed = false;
  client.onclose = () => { closed = true; };
  await client.connect(transport);
  return { client, closed: () => closed };
}

async function serverPid(s: Sandbox, name: string): Promise<number> {
  const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { servers: Array<{ name: string; instances: Array<{ pid: number }> }> };
  return status.servers.find((x) => x.name === name)!.instances[0]!.pid;
}

/** Requests back to back (echo and ping) until `during` is over; returns how many were answered, failing on the first error. */
async function underLoad(client: Client, during: () => Promise<void>): Promise<number> {
  let over = false;
  let answered = 0;
  const loop = async (lane: number) => {
    for (let i = 0; !over; i++) {
      if (i % 2) await client.ping();
      else {
        const message = `lane ${lane} request ${i}`;
        const result = await client.callTool({ name: 'echo', arguments: { message } });
        assert.match(JSON.stringify(result.content), new RegExp(message));
      }
      answered += 1;
    }
  };
  const lanes = [0, 1, 2].map(loop);
  try {
    await during();
  } finally {
    over = true;
  }
  await Promise.all(lanes);
  return answered;
}

describe('rollover through the daemon, under load', () => {
  let s: Sandbox;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        everything: { command: process.execPath, args: [everything, 'stdio'], env: { DEMO_TOKEN: '${local:e2e/token}' } },
        db: { command: process.execPath, args: [everything, 'stdio'], env: { PGPASSWORD: '${vault:database/creds/readonly#password}' } },
      },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:e2e/token'], { input: 'first-value-1234' })).exitCode, 0);
    await startDaemon(s, vaultEnv);
  });
  after(async () => {
    await s.cleanup();
    await vault.close();
  });

  it('a new secret value and `restart --roll`: every request answered, the same session, the new value, the old process gone', async () => {
    const { client, closed } = await connect(s, 'everything');
    assert.equal((await serverEnv(client)).DEMO_TOKEN, 'first-value-1234');
    const oldPid = await serverPid(s, 'everything');
    const fresh = `second-${randomBytes(8).toString('hex')}`;
    assert.equal((await s.cli(['secret', 'set', 'local:e2e/token'], { input: fresh })).exitCode, 0);
    const answered = await underLoad(client, async () => {
      await client.ping(); // the load is running
      const rolled = await s.cli(['restart', 'everything', '--roll']);
      assert.equal(rolled.exitCode, 0, rolled.stderr);
      assert.match(rolled.stdout, /rolled everything in 1 session/);
    });
    assert.ok(answered > 10, `requests kept flowing (${answered})`);
    assert.equal((await serverEnv(client)).DEMO_TOKEN, fresh);
    assert.notEqual(await serverPid(s, 'everything'), oldPid);
    await waitFor(async () => (await alive([oldPid])).length === 0, 'the old process to be gone');
    assert.equal(closed(), false, 'the session never closed');
    await client.close();
  });

  it('unchanged values: `restart --roll` keeps the running process', async () => {
    const { client } = await connect(s, 'everything');
    const pid = await serverPid(s, 'everything');
    assert.equal((await s.cli(['restart', 'everything', '--roll'])).exitCode, 0);
    assert.equal(await serverPid(s, 'everything'), pid);
    await client.close();
  });

  it('a Vault lease: the roll gives the server a new credential and revokes the old process\'s lease', async () => {
    const { client, closed } = await connect(s, 'db');
    const password = (await serverEnv(client)).PGPASSWORD;
    const first = vault.issued.find((c) => c.password === password);
    assert.ok(first, 'the server got a credential the double issued');
    const oldPid = await serverPid(s, 'db');
    await underLoad(client, async () => {
      assert.equal((await s.cli(['restart', 'db', '--roll'])).exitCode, 0);
    });
    const now = (await serverEnv(client)).PGPASSWORD;
    assert.notEqual(now, first.password);
    await waitFor(async () => vault.revoked.includes(first.leaseId), 'the old lease to be revoked');
    await waitFor(async () => (await alive([oldPid])).length === 0, 'the old process to be gone');
    assert.equal(closed(), false, 'the session never closed');
    await client.close();
  });
});
