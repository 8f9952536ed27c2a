/**
 * mcpd's own credentials stay mcpd's (issue 12, item 3). `mcpd run` starts a daemon from an
 * environment holding all four (MCPD_STORE_PASSPHRASE, MCPD_TOKEN, VAULT_TOKEN,
 * OP_SERVICE_ACCOUNT_TOKEN), each a random value. The daemon uses three of them (the local
 * store opened by passphrase, the Vault double read with $VAULT_TOKEN, the session authorized by
 * $MCPD_TOKEN); then each value is searched for in what every process it started was given: the
 * daemon's own initial environment (no MCPD_TOKEN), a real server-everything with
 * `"inheritEnv": true` (its get-env tool and /proc/PID/environ), an exec helper and a rotation
 * hook (each writes its environment to a file), and every file the run left behind.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { VaultDouble } from '../doubles/vault.js';
import { waitFor } from '../helpers/daemon.js';
import { serverEnv } from '../helpers/mcp.js';
import { childrenOf } from '../helpers/procs.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const envToFile = fixture('env-to-file.js');
const canary = (name: string) => `${name.toLowerCase()}-${randomBytes(12).toString('hex')}`;
const own = {
  MCPD_STORE_PASSPHRASE: canary('passphrase'),
  MCPD_TOKEN: canary('mcpd-token'),
  VAULT_TOKEN: canary('vault-token'),
  OP_SERVICE_ACCOUNT_TOKEN: canary('op-token'),
};

/** Fails naming the variable if `text` holds any of mcpd's own credential values. */
function holdsNone(text: string, what: string): void {
  for (const [name, value] of Object.entries(own)) assert.ok(!text.includes(value), `${what} holds the value of ${name}`);
}

/** A process's initial environment, as /proc shows it (what it was started with). */
async function environOf(pid: number): Promise<Record<string, string>> {
  const text = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(text.split('\0').filter(Boolean).map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]));
}

const vault = await VaultDouble.start();
vault.addToken(own.VAULT_TOKEN);
vault.mountKv('secret', 2);
vault.putKv('secret/app', { key: 'from-vault-6d2a91' });

describe('mcpd\'s own credentials reach no child', () => {
  let s: Sandbox;
  let client: Client;
  const stored = 'from-the-store-4be07c';
  // What the user's shell holds besides: the helper, the hook and an inheritEnv: true server need it.
  const userEnv = { GNUPGHOME: '/home/u/.gnupg-e2e', VAULT_ADDR: vault.url };

  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        everything: {
          command: process.execPath,
          args: [everything, 'stdio'],
          inheritEnv: true,
          env: { FROM_HELPER: '${helper:helper-env.json}', FROM_STORE: '${local:e2e/stored}', FROM_VAULT: '${vault:secret/data/app#key}' },
        },
      },
      providers: { local: { type: 'local', key: 'passphrase' }, helper: { type: 'exec', command: [process.execPath, envToFile, s.dir] } },
      rotation: { 'local:e2e/rotated': { strategy: 'generate', every: '90d', apply: [process.execPath, envToFile, s.dir, 'hook-env.json'] } },
      clients: { host: { tokenSha256: createHash('sha256').update(own.MCPD_TOKEN).digest('hex'), scopes: ['launch:everything'] } },
    });
    for (const [ref, value] of [['local:e2e/stored', stored], ['local:e2e/rotated', 'first-rotated-value-0001']]) {
      const set = await s.cli(['secret', 'set', ref!], { input: value, env: { MCPD_STORE_PASSPHRASE: own.MCPD_STORE_PASSPHRASE } });
      assert.equal(set.exitCode, 0, set.stderr);
    }
    // The host app runs `mcpd run` with all four set; no daemon answers yet, so it starts one.
    assert.equal((await s.cli(['status'])).exitCode, 4, 'no daemon before the first run');
    const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'everything'], env: { ...s.env, ...userEnv, ...own }, stderr: 'pipe' });
    transport.stderr?.on('data', () => {});
    client = new Client({ name: 'mcpd-own-credentials-e2e', version: '1.0.0' });
    await client.connect(transport);
  });
  after(async () => {
    await client?.close();
    await s.cleanup();
    await vault.close();
  });

  it('the daemon uses them from memory: the store opens by passphrase and Vault answers to $VAULT_TOKEN', async () => {
    const env = await serverEnv(client);
    assert.equal(env.FROM_STORE, stored);
    assert.equal(env.FROM_VAULT, 'from-vault-6d2a91');
    assert.equal(env.FROM_HELPER, 'printed-by-helper-env.json');
  });

  it('the server, with inheritEnv: true, gets the rest of the environment and none of them', async () => {
    const env = await serverEnv(client);
    assert.equal(env.GNUPGHOME, userEnv.GNUPGHOME, 'inheritEnv: true still passes the user\'s own variables');
    for (const name of Object.keys(own)) assert.equal(env[name], undefined, `the server has no ${name}`);
    holdsNone(JSON.stringify(env), 'the server\'s get-env');
    const daemon = (JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number }).pid;
    const [server] = await childrenOf(daemon);
    assert.ok(server, 'the daemon runs the server');
    holdsNone(JSON.stringify(await environOf(server)), `/proc/${server}/environ (the server)`);
  });

  it('the autostarted daemon was started without $MCPD_TOKEN, and with the credentials it uses', async () => {
    const pid = (JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number }).pid;
    const env = await environOf(pid);
    assert.equal(env.MCPD_TOKEN, undefined);
    assert.ok(!Object.values(env).includes(own.MCPD_TOKEN), `/proc/${pid}/environ holds the client token`);
    assert.equal(env.VAULT_TOKEN, own.VAULT_TOKEN, 'the daemon is mcpd too: it takes the backend tokens it needs');
  });

  it('the exec helper gets the user\'s environment less them', async () => {
    const env = JSON.parse(await readFile(join(s.dir, 'helper-env.json'), 'utf8')) as Record<string, string>;
    assert.equal(env.GNUPGHOME, userEnv.GNUPGHOME, 'a password manager\'s own variables still reach it');
    assert.ok(env.PATH);
    holdsNone(JSON.stringify(env), 'the exec helper\'s environment');
  });

  it('a rotation hook gets the user\'s environment less them', async () => {
    const rotated = await s.cli(['rotate', 'local:e2e/rotated', '--now']);
    assert.equal(rotated.exitCode, 0, rotated.stderr);
    let text = '';
    await waitFor(async () => (text = await readFile(join(s.dir, 'hook-env.json'), 'utf8').catch(() => '')) !== '', 'the apply hook to run');
    const env = JSON.parse(text) as Record<string, string>;
    assert.equal(env.GNUPGHOME, userEnv.GNUPGHOME, 'a hook\'s CLI may need its own login');
    holdsNone(text, 'the rotation hook\'s environment');
  });

  it('no file the run left holds one (the encrypted store aside)', async () => {
    const entries = await readdir(s.dir, { recursive: true, withFileTypes: true });
    const files = entries.filter((e) => e.isFile() && !e.name.endsWith('store.json'));
    assert.ok(files.some((e) => e.name === 'daemon.stderr'), 'the daemon\'s files are among those searched');
    for (const file of files) holdsNone(await readFile(join(file.parentPath, file.name), 'utf8').catch(() => ''), join(file.parentPath, file.name));
  });
});
