import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it, after } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Resolution } from '../../providers/provider.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { fixture } from '../helpers/repo.js';
import { conformance } from './conformance.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-exec-'));
after(() => rm(dir, { recursive: true, force: true }));

function registry(extra: object = {}): ProviderRegistry {
  return new ProviderRegistry(
    { pass: { type: 'exec', command: [process.execPath, fixture('fake-pass.js'), 'show'], timeout: '2s', ...extra } },
    { env: { ...process.env, FAKE_PASS_DIR: dir } },
  );
}

async function resolveOne(path: string, extra: object = {}): Promise<Resolution> {
  const reg = registry(extra);
  const [outcome] = await (await reg.get('pass')).resolve([{ raw: `pass:${path}`, provider: 'pass', path }]);
  await reg.close();
  return outcome!;
}

conformance('exec', async () => ({
  provider: await registry().get('pass'),
  ref: (path) => ({ raw: `pass:${path}`, provider: 'pass', path }),
  seed: async (path, value) => {
    await mkdir(dirname(join(dir, path)), { recursive: true });
    await writeFile(join(dir, path), value);
  },
}), { missingCode: 'PROVIDER_FAILED' });

describe('exec provider', () => {
  it('the command gets the caller\'s environment less mcpd\'s own credentials', async () => {
    const own = { MCPD_STORE_PASSPHRASE: 'pass-canary-9f2', MCPD_TOKEN: 'mcpd-canary-9f2', VAULT_TOKEN: 'vault-canary-9f2', OP_SERVICE_ACCOUNT_TOKEN: 'op-canary-9f2' };
    const reg = new ProviderRegistry(
      { helper: { type: 'exec', command: [process.execPath, fixture('env-to-file.js'), dir], timeout: '5s' } },
      { env: { ...process.env, ...own, BW_SESSION: 'bw-session-kept' } },
    );
    const [outcome] = await (await reg.get('helper')).resolve([{ raw: 'helper:exec-env.json', provider: 'helper', path: 'exec-env.json' }]);
    await reg.close();
    assert.ok(!(outcome instanceof McpdError), String(outcome));
    assert.equal(outcome!.value, 'printed-by-exec-env.json');
    const text = await readFile(join(dir, 'exec-env.json'), 'utf8');
    assert.equal((JSON.parse(text) as Record<string, string>).BW_SESSION, 'bw-session-kept', 'a password manager\'s own session reaches it');
    for (const [name, value] of Object.entries(own)) assert.ok(!text.includes(value), `the command was given ${name}`);
  });

  it('passes the path as one argument, never through a shell', async () => {
    await writeFile(join(dir, 'a; touch pwned'), 'quoted-value');
    const outcome = await resolveOne('a; touch pwned');
    assert.ok(!(outcome instanceof McpdError), String(outcome));
    assert.equal(outcome.value, 'quoted-value');
  });

  it('a failing command: PROVIDER_FAILED with the command, its status and first stderr line', async () => {
    const outcome = await resolveOne('nope/missing');
    assert.ok(outcome instanceof McpdError);
    assert.equal(outcome.code, 'PROVIDER_FAILED');
    assert.match(outcome.message, /^\$\{pass:nope\/missing\}: `.*fake-pass\.js show nope\/missing` exited with status 1: Error: nope\/missing is not in the password store\.$/);
    assert.match(outcome.hint!, /run the command yourself/);
  });

  it('a hanging command: PROVIDER_TIMEOUT after the configured timeout, and it is killed', async () => {
    const started = Date.now();
    const outcome = await resolveOne('hang/forever', { timeout: '300ms' });
    assert.ok(outcome instanceof McpdError);
    assert.equal(outcome.code, 'PROVIDER_TIMEOUT');
    assert.match(outcome.message, /`.*fake-pass\.js show hang\/forever` did not finish within 300ms/);
    assert.match(outcome.hint!, /raise "timeout"/);
    assert.ok(Date.now() - started < 5000, 'returned promptly after the timeout');
  });

  it('a path beginning with "-" is refused before the command runs: it would be an option', async () => {
    for (const path of ['--version', '-rf']) {
      const outcome = await resolveOne(path);
      assert.ok(outcome instanceof McpdError, `${path} was passed on`);
      assert.equal(outcome.code, 'REF_MALFORMED');
      assert.equal(outcome.message, `\${pass:${path}} has a path beginning with "-", which the command of provider "pass" would take as an option, not a secret's name`);
      assert.match(outcome.hint!, /without a leading "-"; for an environment variable with a default, write \$\{NAME:-default\}/);
    }
  });

  it('a missing command: PROVIDER_FAILED saying it cannot run it', async () => {
    const reg = new ProviderRegistry({ pm: { type: 'exec', command: ['/nonexistent/pm', 'get'], timeout: '2s' } }, { env: process.env });
    const [outcome] = await (await reg.get('pm')).resolve([{ raw: 'pm:x', provider: 'pm', path: 'x' }]);
    assert.ok(outcome instanceof McpdError);
    assert.equal(outcome.message, '${pm:x}: cannot run `/nonexistent/pm get x` (ENOENT)');
  });
});
