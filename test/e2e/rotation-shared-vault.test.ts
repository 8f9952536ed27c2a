/**
 * Two real daemons (two homes, two sockets, two state dirs) rotate the same Vault KV v2 path of
 * the Vault double at the same moment: check-and-set lets one write the new version and run
 * `apply`; the other adopts it. The path gets exactly one new version and `apply` runs once.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { VaultDouble } from '../doubles/vault.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const hash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);
const vault = await VaultDouble.start();
vault.addToken('hvs.shared-e2e');
vault.mountKv('secret', 2);
const env = { VAULT_ADDR: vault.url, VAULT_TOKEN: 'hvs.shared-e2e' };
const sandboxes: Sandbox[] = [];
after(async () => {
  await Promise.all(sandboxes.map((s) => s.cleanup()));
  await vault.close();
});

describe('two daemons sharing one Vault path', () => {
  it('rotate it exactly once', async () => {
    const base = vault.putKv('secret/api', { key: 'shared-old-value-e2e-0001' });
    const [a, b] = [await sandbox(), await sandbox()];
    sandboxes.push(a, b);
    const log = join(a.dir, 'apply.log');
    for (const s of [a, b]) {
      await s.writeConfig({
        providers: { local: { type: 'local', key: 'file' } },
        rotation: { 'vault:secret/data/api#key': { strategy: 'generate', every: '90d', apply: [process.execPath, fixture('rotation-hook.js'), log] } },
      });
      await startDaemon(s, env);
    }
    const runs = await Promise.all([a, b].map((s) => s.cli(['rotate', 'vault:secret/data/api#key', '--now', '--json'], { env })));
    for (const run of runs) assert.equal(run.exitCode, 0, run.stdout + run.stderr);
    const read = await a.cli(['secret', 'get', 'vault:secret/data/api#key', '--reveal', '--no-newline'], { env });
    assert.equal(read.exitCode, 0, read.stderr);
    assert.notEqual(read.stdout, 'shared-old-value-e2e-0001');
    await waitFor(async () => (await readFile(log, 'utf8').catch(() => '')).length > 0, 'apply to have run');
    const applied = (await readFile(log, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { new: string });
    assert.deepEqual(applied.map((x) => x.new), [hash(read.stdout)], 'apply ran once, with the value in Vault');
    // Count versions, not POSTs: when both daemons begin from version 1, the loser's write is a
    // refused check-and-set (a POST that lands nothing); when one begins after the other's write,
    // it sees the new version and never writes.
    assert.equal(vault.kv2('secret/api')?.version, base + 1, `one write landed on top of version ${base}`);
    assert.equal(vault.kv2('secret/api')?.data.key, read.stdout, 'the version that landed is the value mcpd reads');
    const logs = (await Promise.all([a, b].map((s) => readFile(join(s.dir, 'home', '.local', 'state', 'mcpd', 'daemon.log'), 'utf8').catch(() => '')))).join('\n');
    assert.match(logs, /was rotated elsewhere first/, 'the other daemon adopted the value');
  });
});
