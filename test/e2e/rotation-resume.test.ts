/**
 * Fault injection: a real daemon is SIGKILLed right after it has journaled each step of a
 * rotation (MCPD_FAILPOINT=rotation:STEP, see daemon/rotation/journal.ts), then started again.
 * Every time, the restarted daemon finishes the rotation: the store holds the new value,
 * `apply` ran once with it, and `revoke` retired the old value once. The hooks log hashes only;
 * the daemon's log and the journal are searched for both values. Then a rotation with a session
 * open: the server behind it rolls onto the new value and the session goes on.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { STEPS } from '../../daemon/rotation/journal.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { waitUntilGone } from '../helpers/procs.js';
import { serverEnv } from '../helpers/mcp.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const hook = fixture('rotation-hook.js');
const hash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 16);
const lines = async (file: string) => (await readFile(file, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { old: string; new: string });

async function status(s: Sandbox): Promise<Array<{ name: string; state: string; last: string }>> {
  const result = await s.cli(['rotation', 'status', '--json']);
  assert.equal(result.exitCode, 0, result.stderr);
  return JSON.parse(result.stdout) as Array<{ name: string; state: string; last: string }>;
}

/** Every file below `dir`, read as text: none may hold a value. */
async function allText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && !e.name.endsWith('store.json') && !e.name.endsWith('.key'));
  return (await Promise.all(files.map((e) => readFile(join(e.parentPath, e.name), 'utf8').catch(() => '')))).join('\n');
}

describe('a rotation survives the daemon being killed at any step', () => {
  for (const step of STEPS.filter((s) => s !== 'done')) {
    it(`killed right after "${step}" was journaled: the restarted daemon finishes it, applying once and revoking once`, async () => {
      const s = await sandbox();
      try {
        const [applyLog, revokeLog] = [join(s.dir, 'apply.log'), join(s.dir, 'revoke.log')];
        await s.writeConfig({
          providers: { local: { type: 'local', key: 'file' } },
          rotation: { 'local:api': { strategy: 'generate', every: '90d', grace: '1ms', apply: [process.execPath, hook, applyLog], revoke: [process.execPath, hook, revokeLog] } },
        });
        const old = `old-api-key-${step}-0123456789`;
        assert.equal((await s.cli(['secret', 'set', 'local:api'], { input: old })).exitCode, 0);
        await startDaemon(s, { MCPD_FAILPOINT: `rotation:${step}` });
        const pid = (JSON.parse((await s.cli(['status', '--json'])).stdout) as { pid: number }).pid;
        const before = (await status(s))[0]!.last;

        const rotate = await s.cli(['rotate', 'local:api', '--now']);
        assert.notEqual(rotate.exitCode, 0, 'the daemon died under the request');
        await waitUntilGone([pid]);

        await startDaemon(s);
        await waitFor(async () => (await status(s))[0]!.state === 'idle' && (await status(s))[0]!.last !== before, 'the resumed rotation to finish');
        const now = await s.cli(['secret', 'get', 'local:api', '--reveal', '--no-newline']);
        assert.equal(now.exitCode, 0, now.stderr);
        assert.notEqual(now.stdout, old, 'the store holds the new value');
        assert.deepEqual(await lines(applyLog), [{ name: 'local:api', old: hash(old), new: hash(now.stdout) }], 'apply ran once, with the value that was stored');
        assert.deepEqual(await lines(revokeLog), [{ name: 'local:api', old: hash(old), new: hash(now.stdout) }], 'the old value was revoked once');
        const text = await allText(s.dir);
        assert.ok(!text.includes(old) && !text.includes(now.stdout), 'no value in any log, journal or state file');
      } finally {
        await s.cleanup();
      }
    });
  }
});

describe('a rotation rolls the servers that use the secret', () => {
  it('generate with a session open: the server moves onto the new value, the session goes on, then the old value is revoked', async () => {
    const s = await sandbox();
    const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
    try {
      const [applyLog, revokeLog] = [join(s.dir, 'apply.log'), join(s.dir, 'revoke.log')];
      await s.writeConfig({
        mcpServers: { api: { command: process.execPath, args: [everything, 'stdio'], env: { API_KEY: '${local:api}' } } },
        providers: { local: { type: 'local', key: 'file' } },
        rotation: { 'local:api': { strategy: 'generate', every: '90d', grace: '1ms', apply: [process.execPath, hook, applyLog], revoke: [process.execPath, hook, revokeLog] } },
      });
      const old = 'old-api-key-before-rotation-0001';
      assert.equal((await s.cli(['secret', 'set', 'local:api'], { input: old })).exitCode, 0);
      const transport = new StdioClientTransport({ command: process.execPath, args: [cliMain, 'run', 'api'], env: s.env, stderr: 'pipe' });
      transport.stderr?.on('data', () => {});
      const client = new Client({ name: 'mcpd-rotation-e2e', version: '1.0.0' });
      let closed = false;
      client.onclose = () => { closed = true; };
      await client.connect(transport);
      assert.equal((await serverEnv(client)).API_KEY, old);

      const rotated = await s.cli(['rotate', 'local:api', '--now', '--json']);
      assert.equal(rotated.exitCode, 0, rotated.stdout + rotated.stderr);
      await waitFor(async () => (await lines(revokeLog)).length === 1, 'the old value to be revoked once the server holds the new one');
      const fresh = (await s.cli(['secret', 'get', 'local:api', '--reveal', '--no-newline'])).stdout;
      assert.notEqual(fresh, old);
      assert.equal((await serverEnv(client)).API_KEY, fresh, 'the running session\'s server has the new value');
      assert.equal(closed, false, 'one unbroken session');
      assert.deepEqual(await lines(applyLog), [{ name: 'local:api', old: hash(old), new: hash(fresh) }]);
      await client.close();
    } finally {
      await s.cleanup();
    }
  });
});
