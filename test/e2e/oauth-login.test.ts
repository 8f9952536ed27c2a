/**
 * `mcpd auth login --no-browser` on a headless machine, against a real daemon and the OAuth
 * double: the address is printed, the user signs in elsewhere and pastes back the address the
 * browser was sent to; a pasted address from another sign-in (another state) is refused with
 * its message, and the login goes on to take the right one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { type OAuthDouble, startOAuthDouble } from '../doubles/oauth-server.js';
import { freePort } from '../helpers/remote.js';
import { cliMain } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

/** What a browser elsewhere would be sent to: the authorization server's redirect, not followed. */
async function redirectedTo(authorizationUrl: string): Promise<string> {
  const response = await fetch(authorizationUrl, { redirect: 'manual' });
  await response.arrayBuffer();
  const location = response.headers.get('location');
  assert.ok(location, `the authorization server answered ${response.status} without a redirect`);
  return location;
}

describe('mcpd auth login --no-browser: the redirected address pasted back', () => {
  let double: OAuthDouble;
  let s: Sandbox;

  before(async () => {
    double = await startOAuthDouble({ accessTokenSeconds: 60 });
    s = await sandbox();
    await s.writeConfig({ mcpServers: { remote: { url: double.mcpUrl, oauth: { callbackPort: await freePort() } } } });
  });

  after(async () => {
    await s.cleanup();
    await double.close();
  });

  it('signs in with the pasted address; one from another sign-in is refused, saying so', async () => {
    const login = execa(process.execPath, [cliMain, 'auth', 'login', 'remote', '--no-browser'], { env: s.env, extendEnv: false, reject: false, timeout: 60_000 });
    let stderr = '';
    const address = new Promise<string>((resolve) => {
      login.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
        const match = /(http:\/\/127\.0\.0\.1:\d+\/authorize\?\S+)/.exec(stderr);
        if (match) resolve(match[1]!);
      });
    });
    const location = await redirectedTo(await address);
    const forged = new URL(location);
    forged.searchParams.set('state', 'not-this-sign-in');
    // The first line is another sign-in's: refused, and the login ends with that error.
    login.stdin!.write(`${forged.href}\n`);
    const refused = await login;
    assert.notEqual(refused.exitCode, 0);
    assert.match(String(refused.stderr), /server "remote": the pasted address is not from this sign-in \(its state differs, or it has none\)/);
    assert.equal(double.counts().codeGrants, 0, 'nothing was exchanged for it');

    // The sign-in is still waiting in the daemon: a second login joins it, and the right address completes it.
    const again = execa(process.execPath, [cliMain, 'auth', 'login', 'remote', '--no-browser'], { env: s.env, extendEnv: false, reject: false, timeout: 60_000, input: `${location}\n` });
    const done = await again;
    assert.equal(done.exitCode, 0, String(done.stderr));
    assert.match(String(done.stdout), /signed in to "remote" \(oauth, scopes read/);
    assert.equal(double.counts().authorizations, 1, 'one sign-in: the second login joined the first');
    assert.equal(double.counts().codeGrants, 1);
    const status = JSON.parse((await s.cli(['auth', 'status', '--json'])).stdout) as Array<{ state: string }>;
    assert.equal(status[0]!.state, 'signed-in');
  });
});
