/**
 * Signing in that cannot work, each a clear error naming the server and the fix, with its exit
 * code, from `mcpd run` as a host app starts it: an authorization server without PKCE, a
 * refused registration, the user declining, nobody finishing, the callback port taken. And a
 * server with no OAuth at all: `mcpd auth login` takes its token on stdin, and it is sent.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { startOAuthDouble, type OAuthDouble } from '../doubles/oauth-server.js';
import { authGuard, freePort, type Guard, type Running, startEverything } from '../helpers/remote.js';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesHolding } from '../helpers/oauth.js';

const INITIALIZE = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'oauth-errors', version: '1' } } })}\n`;

describe('signing in that cannot work', () => {
  const doubles: OAuthDouble[] = [];
  let s: Sandbox;
  let held: Server;
  let heldPort: number;
  let everything: Running;
  let guard: Guard;
  const manual = 'manual-token-0123456789abcdef';

  before(async () => {
    const [noPkce, refusing, denying, slow] = await Promise.all([
      startOAuthDouble({ pkce: false }),
      startOAuthDouble({ registration: 'refuse' }),
      startOAuthDouble({ deny: true }),
      startOAuthDouble(),
    ]);
    doubles.push(noPkce, refusing, denying, slow);
    everything = await startEverything('streamableHttp');
    guard = await authGuard(everything.origin, [manual]);
    held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    heldPort = (held.address() as { port: number }).port;
    s = await sandbox();
    await s.writeConfig({
      mcpServers: {
        // A port each: a sign-in nobody finishes keeps its callback open until oauth.timeout.
        nopkce: { url: noPkce.mcpUrl, oauth: { callbackPort: await freePort() } },
        refusing: { url: refusing.mcpUrl, oauth: { callbackPort: await freePort() } },
        denying: { url: denying.mcpUrl, oauth: { callbackPort: await freePort() } },
        slow: { url: slow.mcpUrl, oauth: { timeout: '2s', callbackPort: await freePort() } },
        busy: { url: slow.mcpUrl, oauth: { callbackPort: heldPort } },
        manual: { url: `${guard.origin}/mcp` },
      },
    });
  });

  after(async () => {
    await s.cleanup();
    held.close();
    await guard.stop();
    await everything.stop();
    await Promise.all(doubles.map((d) => d.close()));
  });

  const browser = fixture('browser-fetch.js');
  const cases = [
    { name: 'nopkce', code: 'OAUTH_NO_PKCE', exit: 5, message: /server "nopkce": its authorization server http:\/\/127\.0\.0\.1:\d+\/ does not advertise PKCE with S256 \(code_challenge_methods_supported: absent\), so mcpd will not sign in there/, browser },
    { name: 'refusing', code: 'OAUTH_FAILED', exit: 5, message: /server "refusing": the authorization server refused the registration \(invalid_client_metadata\)/, hint: 'set oauth.clientId', browser },
    { name: 'denying', code: 'OAUTH_FAILED', exit: 5, message: /server "denying": the sign-in was declined \(access_denied\)/, hint: 'mcpd auth login denying', browser },
    // A browser that never comes back: the sign-in gives up after oauth.timeout.
    { name: 'slow', code: 'OAUTH_TIMEOUT', exit: 5, message: /server "slow": nobody finished signing in within 2s/, hint: 'oauth.timeout', browser: '/bin/true' },
    { name: 'busy', code: 'OAUTH_CALLBACK_PORT', exit: 1, message: /server "busy": cannot take port \d+ on 127\.0\.0\.1 for the sign-in callback: in use/, browser },
  ];

  for (const c of cases) {
    it(`${c.name}: ${c.code}, exit ${c.exit}`, async () => {
      const result = await s.cli(['run', c.name], { input: INITIALIZE, env: { BROWSER: c.browser } });
      assert.equal(result.exitCode, c.exit, result.stderr);
      assert.match(result.stderr, c.message);
      if (c.hint) assert.ok(result.stderr.includes(c.hint), result.stderr);
      const answer = JSON.parse(result.stdout.split('\n')[0]!) as { id: number; error: { message: string } };
      assert.equal(answer.id, 1, 'the host app\'s initialize is answered, not left waiting');
      assert.match(answer.error.message, c.message);
    });
  }

  it('a server with no OAuth: mcpd run names mcpd auth login; the token given there (stdin) is sent, and kept in no plain file', async () => {
    const before = await s.cli(['run', 'manual'], { input: INITIALIZE });
    assert.equal(before.exitCode, 5, before.stderr);
    assert.match(before.stderr, /AUTH_TOKEN_NEEDED|wants a token and offers no OAuth sign-in/);
    assert.ok(before.stderr.includes('run mcpd auth login manual'), before.stderr);
    const login = await s.cli(['auth', 'login', 'manual'], { input: `${manual}\n` });
    assert.equal(login.exitCode, 0, login.stderr);
    assert.ok(!login.stdout.includes(manual) && !login.stderr.includes(manual), 'the token is never printed');
    const after = await s.cli(['run', 'manual'], { input: INITIALIZE });
    const answer = JSON.parse(after.stdout.split('\n')[0]!) as { result?: { serverInfo: { name: string } } };
    assert.ok(answer.result, after.stdout + after.stderr);
    assert.equal(guard.seen.at(-1)!.authorization, `Bearer ${manual}`);
    assert.deepEqual(await filesHolding(s.dir, [manual]), []);
    const status = JSON.parse((await s.cli(['auth', 'status', '--json'])).stdout) as Array<{ server: string; method: string; state: string }>;
    assert.deepEqual(status.find((x) => x.server === 'manual'), { server: 'manual', url: `${guard.origin}/mcp`, method: 'token', state: 'signed-in' });
  });
});
