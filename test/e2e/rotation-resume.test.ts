/**
 * Fault injection: a real daemon is SIGKILLed right after it has journaled each step of a
 * rotation (MCPD_FAILPOINT=rotation:STEP, see daemon/rotation/journal.ts), then started again.
 * Every time, the restarted daemon finishes the rotation: the store holds the new value,
 * `apply` ran once with it, and `revoke` retired the old value once. The hooks log hashes only;
 * the daemon's log and the journal are searched for both values.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { STEPS } from '../../daemon/rotation/journal.js';
import { startDaemon, waitFor } from '../helpers/daemon.js';
import { waitUntilGone } from '../helpers/procs.js';
import { fixture } from '../helpers/repo.js';
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
