import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { isOwnCredential, OWN_CREDENTIALS, takeOwnCredentials, withoutOwnCredentials } from '../../core/own-credentials.js';
import { repoRoot } from '../helpers/repo.js';

const values = {
  MCPD_STORE_PASSPHRASE: 'pass-canary-1',
  MCPD_TOKEN: 'mcpd-canary-2',
  VAULT_TOKEN: 'vault-canary-3',
  OP_SERVICE_ACCOUNT_TOKEN: 'op-canary-4',
};

/** Variable names the source reads as `env.NAME`, `env?.NAME` or `env['NAME']` outside comments, by file. */
async function envReads(): Promise<Array<{ file: string; name: string }>> {
  const found: Array<{ file: string; name: string }> = [];
  for (const dir of ['cli', 'client', 'core', 'daemon', 'providers']) {
    const entries = await readdir(join(repoRoot, dir), { recursive: true, withFileTypes: true });
    for (const entry of entries.filter((e) => e.isFile() && e.name.endsWith('.ts'))) {
      const path = join(entry.parentPath, entry.name);
      // Code only: comments name JSON paths such as `mcpServers.github.env.TOKEN`.
      const code = (await readFile(path, 'utf8')).split('\n').filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join('\n');
      for (const match of code.matchAll(/\benv(?:\.|\?\.|\[['"])([A-Z][A-Z0-9_]+)/g)) found.push({ file: relative(repoRoot, path), name: match[1]! });
    }
  }
  return found;
}

describe('mcpd\'s own credentials', () => {
  it('are exactly these: a credential mcpd reads and leaves off this list reaches its children', () => {
    assert.deepEqual([...OWN_CREDENTIALS], ['MCPD_STORE_PASSPHRASE', 'MCPD_TOKEN', 'VAULT_TOKEN', 'OP_SERVICE_ACCOUNT_TOKEN']);
    assert.ok(isOwnCredential('VAULT_TOKEN'));
    assert.ok(!isOwnCredential('VAULT_ADDR'), 'an address is no credential: the user\'s vault CLI in a hook needs it');
  });

  it('every credential-like variable the source reads is on the list', async () => {
    const reads = await envReads();
    assert.ok(reads.some((r) => r.name === 'VAULT_TOKEN'), 'the scan finds the readers it looks for');
    const credentialLike = /TOKEN|PASSPHRASE|PASSWORD|SECRET|_KEY$/;
    const missed = reads.filter((r) => credentialLike.test(r.name) && !isOwnCredential(r.name));
    assert.deepEqual(missed, [], 'add these to OWN_CREDENTIALS, or say here why they are no credential of mcpd\'s');
  });

  it('takeOwnCredentials moves them out of the environment it is given, into the copy it returns', () => {
    const env: NodeJS.ProcessEnv = { PATH: '/usr/bin', GNUPGHOME: '/g', ...values };
    const taken = takeOwnCredentials(env);
    assert.deepEqual(env, { PATH: '/usr/bin', GNUPGHOME: '/g' });
    assert.deepEqual(taken, { PATH: '/usr/bin', GNUPGHOME: '/g', ...values });
    assert.ok(Object.isFrozen(taken), 'nobody adds to or edits what the providers read');
  });

  it('withoutOwnCredentials keeps everything else a user\'s helper may need', () => {
    const env = { PATH: '/usr/bin', GNUPGHOME: '/g', BW_SESSION: 'bw', PASSWORD_STORE_DIR: '/p', VAULT_ADDR: 'https://v', UNSET: undefined, ...values };
    assert.deepEqual(withoutOwnCredentials(env), { PATH: '/usr/bin', GNUPGHOME: '/g', BW_SESSION: 'bw', PASSWORD_STORE_DIR: '/p', VAULT_ADDR: 'https://v' });
  });
});
