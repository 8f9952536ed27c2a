import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

/** Every file under `dir`, read whole: where a value must never be found in the clear. */
async function everyFile(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const texts = await Promise.all(entries.filter((e) => e.isFile()).map((e) => readFile(join(e.parentPath, e.name), 'latin1')));
  return texts.join('\n');
}

describe('mcpd secret', () => {
  let s: Sandbox;
  const value = `sv-${randomBytes(12).toString('hex')}`;
  before(async () => {
    s = await sandbox();
    // No keychain in this sandbox: secret: falls back to the local store, keyed by a key file.
    await s.writeConfig({ providers: { local: { type: 'local', key: 'file' } } });
  });
  after(() => s.cleanup());

  it('set reads the value from stdin (one trailing newline dropped); get shows it only with --reveal', async () => {
    const set = await s.cli(['secret', 'set', 'github/pat'], { input: `${value}\n` });
    assert.equal(set.exitCode, 0, set.stderr);
    assert.match(set.stderr, /^stored \$\{secret:github\/pat\} \(version \S+\)\n$/);
    const get = await s.cli(['secret', 'get', 'github/pat']);
    assert.equal(get.exitCode, 0, get.stderr);
    assert.match(get.stdout, /^\$\{secret:github\/pat\} is set \(version \S+\); add --reveal to print it\n$/);
    assert.ok(!get.stdout.includes(value) && !get.stderr.includes(value));
    assert.equal((await s.cli(['secret', 'get', '--reveal', 'github/pat'])).stdout, `${value}\n`);
    assert.equal((await s.cli(['secret', 'get', '--reveal', '-n', 'local:github/pat'])).stdout, value, 'secret: fell back to local:');
  });

  it('ls lists names, never values', async () => {
    const ls = await s.cli(['secret', 'ls']);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.ok(ls.stdout.includes('github/pat'), ls.stdout);
    assert.ok(!ls.stdout.includes(value));
    const json = await s.cli(['secret', 'ls', '--json', 'local:']);
    assert.ok((JSON.parse(json.stdout) as string[]).includes('local:github/pat'));
  });

  it('no file in the sandbox holds the value in the clear', async () => {
    assert.ok(!(await everyFile(s.dir)).includes(value));
  });

  it('refuses a value on the command line (exit 2) and stores nothing', async () => {
    const result = await s.cli(['secret', 'set', 'argv/test', 'hunter2-value']);
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /takes the value on stdin, never on the command line/);
    assert.ok(!result.stderr.includes('hunter2-value'));
    assert.equal((await s.cli(['secret', 'get', 'argv/test'])).exitCode, 3);
  });

  it('refuses an empty value (exit 2) and stores nothing', async () => {
    const result = await s.cli(['secret', 'set', 'empty/one'], { input: '' });
    assert.equal(result.exitCode, 2);
    assert.match(result.stderr, /no value given for \$\{secret:empty\/one\}; nothing was stored/);
  });

  it('a missing secret exits 3 naming it; rm removes; a read-only provider cannot store', async () => {
    const missing = await s.cli(['secret', 'get', 'nope/nothing']);
    assert.equal(missing.exitCode, 3);
    assert.match(missing.stderr, /\$\{secret:nope\/nothing\}/);
    await s.cli(['secret', 'set', 'doomed'], { input: 'doomed-value' });
    assert.equal((await s.cli(['secret', 'rm', 'doomed'])).exitCode, 0);
    assert.equal((await s.cli(['secret', 'get', 'doomed'])).exitCode, 3);
    const env = await s.cli(['secret', 'set', 'env:HOME'], { input: 'x' });
    assert.equal(env.exitCode, 2);
    assert.match(env.stderr, /provider "env" cannot store secrets/);
  });

  it('concurrent `secret set` on one store: every write lands', async () => {
    const writes = Array.from({ length: 6 }, (_, i) => s.cli(['secret', 'set', `race/k${i}`], { input: `race-value-${i}` }));
    const results = await Promise.all(writes);
    for (const r of results) assert.equal(r.exitCode, 0, r.stderr);
    for (let i = 0; i < 6; i++) {
      assert.equal((await s.cli(['secret', 'get', '--reveal', '-n', `race/k${i}`])).stdout, `race-value-${i}`);
    }
  });
});
