/**
 * `mcpd auth login|status|logout`: the real command against a stand-in daemon
 * (test/helpers/fake-daemon.ts) that answers the control methods of the OAuth design and sends
 * `auth.open` as the daemon does; the browser is a real $BROWSER command that records what it
 * was given (test/fixtures/browser-record.js).
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { execa } from 'execa';
import { McpdError } from '../../core/errors.js';
import { tokenHint } from '../../daemon/remote/token-hints.js';
import { waitFor } from '../helpers/daemon.js';
import { type ControlCall, fakeDaemon, type FakeDaemon, type FakeDaemonHandlers } from '../helpers/fake-daemon.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const SIGN_IN = 'https://auth.example/authorize?response_type=code&client_id=mcpd&state=st4te&redirect_uri=http%3A%2F%2F127.0.0.1%3A8085%2Fcallback';
const SIGNED_IN = { server: 'linear', method: 'oauth', scopes: ['read', 'write'], expiresAt: '2026-12-03T13:00:00.000Z' };

describe('mcpd auth', () => {
  let s: Sandbox;
  let daemon: FakeDaemon | undefined;
  let record: string;
  let n = 0;
  const started = async () => (await readFile(record, 'utf8').catch(() => '')).split('\n').filter(Boolean).map((line) => JSON.parse(line) as { argv: string[] });
  const serve = async (control: FakeDaemonHandlers['control']) => { daemon = await fakeDaemon(s.env.MCPD_SOCKET!, { control }); };
  const auth = (args: string[], input = '', env: Record<string, string> = {}) => s.cli(['auth', ...args], { input, env: { MCPD_TEST_BROWSER_RECORD: record, BROWSER: fixture('browser-record.js'), ...env } });
  const methods = () => daemon!.calls.map((c) => c.method);

  before(async () => { s = await sandbox(); });
  after(async () => {
    await daemon?.close();
    await s.cleanup();
  });
  beforeEach(async () => {
    await daemon?.close();
    daemon = undefined;
    record = join(s.dir, `browser-${++n}`);
  });

  it('login opens the browser at the address the daemon sends, and prints the result', async () => {
    await serve(async ({ method }, notify) => {
      assert.equal(method, 'auth.login');
      notify('auth.open', { server: 'linear', url: SIGN_IN });
      // The daemon answers once the user has signed in: here, once the browser has been started.
      await waitFor(async () => (await started()).length > 0, 'the browser to start');
      return SIGNED_IN;
    });
    const result = await auth(['login', 'linear']);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(daemon!.calls, [{ method: 'auth.login', params: { name: 'linear', browser: true } }]);
    assert.deepEqual((await started()).map((b) => b.argv), [[SIGN_IN]]);
    assert.equal(result.stderr, `mcpd: opened your browser to sign in to "linear"; if it did not open, visit:\n  ${SIGN_IN}\n`);
    assert.equal(result.stdout, 'signed in to "linear" (oauth, scopes read write, the access token expires at 2026-12-03T13:00:00.000Z and is refreshed before then)\n');
  });

  it('login --no-browser prints the address and hands the address pasted back to auth.complete, exactly', async () => {
    const pasted = 'http://127.0.0.1:8085/callback?code=c0de&state=st4te&iss=https%3A%2F%2Fauth.example';
    let completed: (() => void) | undefined;
    const complete = new Promise<void>((resolve) => { completed = resolve; });
    await serve(async ({ method }, notify) => {
      if (method === 'auth.complete') {
        completed!();
        return { server: 'linear', completed: true };
      }
      notify('auth.open', { server: 'linear', url: SIGN_IN });
      await complete;
      return SIGNED_IN;
    });
    const result = await auth(['login', 'linear', '--no-browser'], `\n  ${pasted}  \nnot read\n`);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(daemon!.calls, [
      { method: 'auth.login', params: { name: 'linear', browser: false } },
      { method: 'auth.complete', params: { name: 'linear', url: pasted } },
    ]);
    assert.deepEqual(await started(), [], 'the browser was opened despite --no-browser');
    assert.equal(result.stderr, `mcpd: to sign in to "linear", open this address in a browser:\n  ${SIGN_IN}\nthen paste here the address your browser was sent to after signing in (it fails to load; that is expected), and press Enter:\n`);
    assert.match(result.stdout, /^signed in to "linear" \(oauth/);
  });

  it('login stops reading stdin when the sign-in finishes without a paste (the callback was reached)', async () => {
    await serve(async ({ method }, notify) => {
      assert.equal(method, 'auth.login');
      notify('auth.open', { server: 'linear', url: SIGN_IN });
      await new Promise((resolve) => setTimeout(resolve, 300));
      return SIGNED_IN;
    });
    // stdin stays open: nobody pastes anything.
    const run = execa(process.execPath, [cliMain, 'auth', 'login', 'linear'], { env: { ...s.env, MCPD_TEST_BROWSER_RECORD: record }, extendEnv: false, stdin: 'pipe', reject: false, timeout: 20_000 });
    const result = await run;
    assert.equal(result.timedOut, false, 'it kept waiting for a line');
    assert.equal(result.exitCode, 0, String(result.stderr));
    assert.deepEqual(methods(), ['auth.login']);
    assert.match(String(result.stderr), /open this address in a browser:\n {2}https:\/\/auth\.example\/authorize/);
  });

  it('a server without OAuth: the message and hint, then the token from stdin to auth.token, never printed', async () => {
    const token = 'ghp_auth-test-token-NEVER-PRINTED-4d1e';
    const stored: ControlCall[] = [];
    await serve(({ method, params }) => {
      if (method === 'auth.token') {
        stored.push({ method, params });
        return { server: 'github', stored: true };
      }
      throw new McpdError('AUTH_TOKEN_NEEDED', 'server "github" (https://api.githubcopilot.com/mcp/) answers 401 and offers no OAuth to sign in with', { hint: `make a token (${tokenHint('https://api.githubcopilot.com/mcp/')!}), then run mcpd auth login github` });
    });
    const result = await auth(['login', 'github'], `${token}\n`);
    assert.equal(result.exitCode, 0, result.stderr);
    assert.deepEqual(stored, [{ method: 'auth.token', params: { name: 'github', token } }]);
    assert.match(result.stderr, /^mcpd: server "github" \(https:\/\/api\.githubcopilot\.com\/mcp\/\) answers 401 and offers no OAuth to sign in with\n {2}hint: make a token \(GitHub: Settings → Developer settings → Personal access tokens/);
    assert.equal(result.stdout, 'stored the token for "github" in the default store; mcpd sends it as Authorization: Bearer to github\'s server only\n');
    assert.ok(!`${result.stdout}${result.stderr}`.includes(token), 'the token was printed');
  });

  it('no token given: nothing is stored, and the error says how to give one', async () => {
    await serve(() => { throw new McpdError('AUTH_TOKEN_NEEDED', 'server "github" answers 401 and offers no OAuth to sign in with'); });
    const result = await auth(['login', 'github'], '\n');
    assert.equal(result.exitCode, 2);
    assert.deepEqual(methods(), ['auth.login']);
    assert.match(result.stderr, /mcpd: no token given for "github"; nothing was stored\n {2}hint: run mcpd auth login github on a terminal to be asked for it, or pipe it in/);
  });

  it('status: a table of each url server, or the daemon\'s answer with --json', async () => {
    const answer = [
      { server: 'linear', url: 'https://mcp.linear.app/mcp', method: 'oauth', state: 'signed-in', issuer: 'https://mcp.linear.app', scopes: ['read', 'write'], expiresAt: '2026-12-03T13:00:00.000Z', lastRefresh: '2026-12-03T12:00:05.000Z', client: 'registered' },
      { server: 'github', url: 'https://api.githubcopilot.com/mcp/', method: 'token', state: 'signed-in' },
      { server: 'notion', url: 'https://mcp.notion.com/mcp', method: 'oauth', state: 'signed-out' },
    ];
    await serve(({ method }) => {
      assert.equal(method, 'auth.status');
      return answer;
    });
    const text = await auth(['status']);
    assert.equal(text.exitCode, 0, text.stderr);
    assert.equal(text.stdout, [
      'SERVER  METHOD  STATE       SCOPES      EXPIRES           LAST REFRESH',
      'linear  oauth   signed-in   read write  2026-12-03 13:00  2026-12-03 12:00',
      'github  token   signed-in',
      'notion  oauth   signed-out',
      '',
    ].join('\n'));
    const json = await auth(['status', '--json']);
    assert.deepEqual(JSON.parse(json.stdout), answer);
  });

  it('a daemon started by an older mcpd, which does not know auth.*, is named as such', async () => {
    // What daemon/control.ts answers for a method it does not know.
    await serve(({ method }) => { throw new McpdError('INTERNAL', `Method not found: ${method}; known: status, servers.list`); });
    const result = await auth(['status']);
    assert.equal(result.exitCode, 1);
    assert.equal(result.stderr, 'mcpd: the running daemon does not know auth.status: it was started by an older mcpd\n  hint: restart it: mcpd stop (its sessions end), then run the command again\n');
  });

  it('logout says whether the tokens were revoked, and forgotten', async () => {
    const answers = [{ server: 'linear', revoked: true, forgot: true }, { server: 'linear', revoked: false, forgot: true }, { server: 'linear', revoked: false, forgot: false }];
    await serve(({ method, params }) => {
      assert.deepEqual([method, params], ['auth.logout', { name: 'linear' }]);
      return answers.shift();
    });
    assert.equal((await auth(['logout', 'linear'])).stdout, 'signed out of "linear": the authorization server revoked the tokens, and mcpd forgot them\n');
    assert.equal((await auth(['logout', 'linear'])).stdout, 'signed out of "linear": the server offers no revocation, so the tokens were not revoked (they end when they expire); mcpd forgot them\n');
    assert.equal((await auth(['logout', 'linear'])).stdout, '"linear" had no stored sign-in; nothing to forget\n');
  });
});
