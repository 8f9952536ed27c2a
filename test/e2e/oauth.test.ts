/**
 * OAuth end to end, what the conformance suite does not test: a real daemon and `mcpd run`
 * driven by the SDK's Client, against the OAuth double (test/doubles/oauth-server.ts: an
 * authorization server on the SDK's auth router and the MCP server it protects, on two loopback
 * origins). Access tokens live 2 s and refresh tokens are single-use and rotating; the
 * "browser" is test/fixtures/browser-fetch.js as $BROWSER, which follows the authorization
 * server's immediate redirect to mcpd's callback.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type OAuthDouble, startOAuthDouble } from '../doubles/oauth-server.js';
import { filesHolding, open, whoami } from '../helpers/oauth.js';
import { freePort } from '../helpers/remote.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('OAuth through the daemon, against the OAuth double', () => {
  let double: OAuthDouble;
  let s: Sandbox;
  let env: Record<string, string>;
  const apiKey = 'static-header-value-0123456789';

  before(async () => {
    double = await startOAuthDouble({ accessTokenSeconds: 2 });
    s = await sandbox();
    env = { BROWSER: fixture('browser-fetch.js'), MCPD_OAUTH_CALLBACK_PORT: String(await freePort()) };
    // The daemon is autostarted by the first mcpd run, with its environment: the callback port with it.
    Object.assign(s.env, { MCPD_OAUTH_CALLBACK_PORT: env.MCPD_OAUTH_CALLBACK_PORT });
    await s.cli(['secret', 'set', 'oauth-e2e/api-key'], { input: apiKey });
    await s.writeConfig({ mcpServers: { guarded: { url: double.mcpUrl, headers: { 'X-Api-Key': '${secret:oauth-e2e/api-key}' } } } });
  });

  after(async () => {
    await s.cleanup();
    await double.close();
  });

  it('six sessions opening at once: one registration, one sign-in, every session answered', async () => {
    const sessions = await Promise.all(Array.from({ length: 6 }, () => open(s, 'guarded', env)));
    try {
      const answers = await Promise.all(sessions.map((x) => whoami(x.client)));
      for (const answer of answers) assert.deepEqual(answer.scopes, ['read']);
      const counts = double.counts();
      assert.equal(counts.registrations, 1, 'one registration for six sessions');
      assert.equal(counts.authorizations, 1, 'one browser sign-in for six sessions');
      assert.equal(counts.codeGrants, 1);
    } finally {
      await Promise.all(sessions.map((x) => x.close()));
    }
  });

  it('a 2-second token across several expiries in one session: refreshed ahead, each refresh token sent once', async () => {
    const session = await open(s, 'guarded', env);
    try {
      const before = double.counts();
      const t0 = Date.now();
      const serials = new Set<number>();
      for (let i = 0; i < 5; i++) {
        serials.add((await whoami(session.client)).serial);
        await sleep(1_300);
      }
      const after = double.counts();
      assert.ok(after.refreshes - before.refreshes >= 2, `refreshed ${after.refreshes - before.refreshes} times over ~6 s of 2 s tokens`);
      assert.ok(serials.size >= 3, `saw tokens ${[...serials].join(', ')}`);
      assert.equal(after.authorizations, before.authorizations, 'no new sign-in: the refresh token did it');
      assert.deepEqual(double.violations, [], 'no refresh token was sent twice');
      // Refreshed before expiry, not after a 401: no MCP request was refused for an expired token.
      const refused = double.requestsTo(double.resourceOrigin).filter((r) => r.status === 401 && r.at >= t0);
      assert.deepEqual(refused.map((r) => r.path), []);
    } finally {
      await session.close();
    }
  });

  it('a daemon restart reuses the stored tokens: no new sign-in', async () => {
    const before = double.counts();
    assert.equal((await s.cli(['stop'])).exitCode, 0);
    const session = await open(s, 'guarded', env);
    try {
      assert.deepEqual((await whoami(session.client)).scopes, ['read']);
      assert.equal(double.counts().authorizations, before.authorizations);
      assert.equal(double.counts().registrations, before.registrations);
    } finally {
      await session.close();
    }
  });

  it('invalid_grant: the stored tokens are dropped and the user signs in once more, told why, for the scope held before', async () => {
    const before = double.counts();
    double.invalidateRefreshTokens();
    double.expireAccessTokens();
    // Past the stored token's lifetime: the refresh ahead of expiry meets the invalid_grant, and the
    // new sign-in, with no challenge to name a scope, asks for the one held (read), not all of scopes_supported.
    await sleep(2_100);
    const session = await open(s, 'guarded', env);
    try {
      assert.deepEqual((await whoami(session.client)).scopes, ['read']);
      assert.equal(double.counts().authorizations, before.authorizations + 1);
      assert.match(session.stderr(), /refused the stored refresh token \(invalid_grant\)/);
    } finally {
      await session.close();
    }
  });

  it('step-up with a refresh token held: 403 insufficient_scope signs in again for the wider scope', async () => {
    const session = await open(s, 'guarded', env);
    try {
      await whoami(session.client);
      const before = double.counts();
      const result = await session.client.callTool({ name: 'admin-only', arguments: {} });
      assert.ok(!result.isError, JSON.stringify(result));
      assert.equal(double.counts().authorizations, before.authorizations + 1);
      const last = double.authorizations.at(-1)!;
      assert.deepEqual([...last.scopes].sort(), ['admin', 'read']);
      assert.deepEqual((await whoami(session.client)).scopes.sort(), ['admin', 'read']);
    } finally {
      await session.close();
    }
  });

  it('the static header goes to the MCP server only, never to the authorization server', () => {
    const toAs = double.requestsTo(double.asOrigin);
    assert.ok(toAs.length > 0);
    for (const request of toAs) {
      assert.equal(request.headers['x-api-key'], undefined, `${request.method} ${request.path.split('?')[0]}`);
      assert.ok(!String(request.headers.authorization ?? '').startsWith('Bearer '), 'no access token to the authorization server');
    }
    const toMcp = double.requestsTo(double.resourceOrigin).filter((r) => r.path.startsWith('/mcp'));
    assert.ok(toMcp.length > 0 && toMcp.every((r) => r.headers['x-api-key'] === apiKey));
  });

  it('auth status shows the sign-in, never a token; logout revokes and forgets', async () => {
    const status = await s.cli(['auth', 'status', '--json']);
    assert.equal(status.exitCode, 0, status.stderr);
    const [entry] = JSON.parse(status.stdout) as Array<{ server: string; method: string; state: string; scopes: string[]; expiresAt: string }>;
    assert.equal(entry!.server, 'guarded');
    assert.equal(entry!.method, 'oauth');
    assert.equal(entry!.state, 'signed-in');
    assert.ok(Date.parse(entry!.expiresAt) > 0);
    for (const secret of double.issued.access.concat(double.issued.refresh)) assert.ok(!status.stdout.includes(secret));
    const out = await s.cli(['auth', 'logout', 'guarded']);
    assert.equal(out.exitCode, 0, out.stderr);
    assert.ok(double.revocations.length >= 1, 'the refresh token was revoked (RFC 7009)');
    const after = JSON.parse((await s.cli(['auth', 'status', '--json'])).stdout) as Array<{ state: string }>;
    assert.equal(after[0]!.state, 'signed-out');
  });

  it('no token, code or client secret the double issued is in any file under mcpd\'s folders', async () => {
    const held = await filesHolding(s.dir, double.secrets());
    assert.deepEqual(held, []);
  });
});
