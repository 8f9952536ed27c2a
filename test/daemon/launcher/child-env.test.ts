import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { describe, it } from 'node:test';
import { buildChildEnv, SAFE_ENV } from '../../../daemon/launcher/child-env.js';
import { startChild } from '../../../daemon/launcher/child.js';
import { fixture } from '../../helpers/repo.js';

const parent = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: '/home/u',
  USER: 'u',
  LANG: 'C.UTF-8',
  TERM: undefined,
  AWS_SECRET_ACCESS_KEY: 'aws-canary',
  MCPD_TEST_LEAK: 'leak-canary',
  HTTPS_PROXY: 'http://proxy',
};

describe('child environment', () => {
  it('the safelist is exactly this: widening it leaks the caller\'s environment into every server', () => {
    assert.deepEqual([...SAFE_ENV], ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'TMPDIR']);
  });

  it('is the safelisted variables that are set, plus the injected ones, which win', () => {
    assert.deepEqual(buildChildEnv(parent, false, { TOKEN: 't', HOME: '/srv' }), {
      PATH: parent.PATH, HOME: '/srv', USER: 'u', LANG: 'C.UTF-8', TOKEN: 't',
    });
  });

  it('keeps every other variable of the caller out', () => {
    const env = buildChildEnv({ ...process.env, MCPD_TEST_LEAK: 'leak-canary' }, false, {});
    assert.equal(env.MCPD_TEST_LEAK, undefined);
    assert.deepEqual(Object.keys(env).filter((name) => !(SAFE_ENV as readonly string[]).includes(name)), []);
  });

  it('inheritEnv passes the names listed, or with true everything', () => {
    const listed = buildChildEnv(parent, ['HTTPS_PROXY', 'NOT_SET'], {});
    assert.equal(listed.HTTPS_PROXY, 'http://proxy');
    assert.equal(listed.MCPD_TEST_LEAK, undefined);
    assert.ok(!('NOT_SET' in listed), 'an unset variable stays unset, not empty');
    const all = buildChildEnv(parent, true, { HTTPS_PROXY: 'http://mine' });
    assert.equal(all.MCPD_TEST_LEAK, 'leak-canary');
    assert.equal(all.HTTPS_PROXY, 'http://mine', 'injected values still win');
  });

  it('mcpd\'s own credentials are inherited by no server, not with true nor when listed', () => {
    const own = { MCPD_STORE_PASSPHRASE: 'pass-canary', MCPD_TOKEN: 'mcpd-canary', VAULT_TOKEN: 'vault-canary', OP_SERVICE_ACCOUNT_TOKEN: 'op-canary' };
    const names = Object.keys(own);
    for (const inherit of [true, names]) {
      const env = buildChildEnv({ ...parent, ...own }, inherit, {});
      assert.deepEqual(Object.keys(env).filter((name) => names.includes(name)), [], `inheritEnv ${JSON.stringify(inherit)}`);
      for (const value of Object.values(own)) assert.ok(!Object.values(env).includes(value));
    }
    assert.equal(buildChildEnv({ ...parent, ...own }, true, {}).HTTPS_PROXY, 'http://proxy', 'the rest of true still passes');
    assert.equal(buildChildEnv(parent, false, { VAULT_TOKEN: 'the-servers-own' }).VAULT_TOKEN, 'the-servers-own', 'a value the config injects under that name is the server\'s own');
  });

  it('a real child started by the launcher sees exactly what was built, nothing more', async () => {
    const env = buildChildEnv({ ...process.env, MCPD_TEST_LEAK: 'leak-canary' }, false, { TOKEN: 'child-token-123' });
    const child = await startChild({ command: process.execPath, args: [fixture('print-env.js')], env, secrets: [] }, { stdin: 'ignore', stdout: 'pipe' });
    child.stderr.resume();
    const [printed] = await Promise.all([text(child.stdout!), child.exited]);
    assert.deepEqual(JSON.parse(printed), env);
  });
});
