import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startDaemon } from '../helpers/daemon.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

describe('mcpd secrets check', () => {
  let s: Sandbox;
  const value = 'checked-secret-value-91b2';
  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        a: { command: 'x', env: { T: '${local:present}', U: '${local:absent}' } },
        b: { command: 'x', env: { T: '${local:present}', H: '${HOME}' } },
      },
      providers: { local: { type: 'local', key: 'file' } },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:present'], { input: value })).exitCode, 0);
  });
  after(() => s.cleanup());

  it('reports each reference once, with its provider and users; exit 3 when one fails; never a value', async () => {
    const result = await s.cli(['secrets', 'check']);
    assert.equal(result.exitCode, 3, result.stderr);
    assert.match(result.stdout, /^ok {5}\$\{local:present\} \(local\) used by a, b$/m);
    assert.match(result.stdout, /^ERROR {2}\$\{local:absent\} \(local\) used by a\n {7}\$\{local:absent\}: no such secret in the local store .*\n {7}hint: store it with: mcpd secret set local:absent$/m);
    assert.match(result.stdout, /^ok {5}\$\{HOME\} \(env\) used by b$/m);
    assert.match(result.stdout, /^2 of 3 reference\(s\) resolve; 1 do not$/m);
    const json = JSON.parse((await s.cli(['secrets', 'check', '--json'])).stdout) as Array<{ reference: string; ok: boolean; error?: { code: string } }>;
    assert.deepEqual(json.map((f) => [f.reference, f.ok, f.error?.code]), [['${local:present}', true, undefined], ['${local:absent}', false, 'SECRET_NOT_FOUND'], ['${HOME}', true, undefined]]);
    assert.ok(!result.stdout.includes(value) && !result.stderr.includes(value));
  });

  it('--daemon asks the running daemon, which answers the same in its own environment', async () => {
    await startDaemon(s);
    const here = JSON.parse((await s.cli(['secrets', 'check', '--json'])).stdout) as unknown;
    const result = await s.cli(['secrets', 'check', '--daemon', '--json']);
    assert.equal(result.exitCode, 3, result.stderr);
    assert.deepEqual(JSON.parse(result.stdout), here);
    assert.ok(!result.stdout.includes(value));
  });
});
