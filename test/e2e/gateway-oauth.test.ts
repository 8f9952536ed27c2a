/**
 * mcpd as its own authorization server (the `oauth` provider): the SDK's own client registers
 * (RFC 7591), is sent to the consent page, waits for `mcpd auth approve`, gets tokens bound to
 * /mcp/everything (RFC 8707), calls a tool on server-everything and refreshes when its short
 * access token expires. A denied or never-consented client gets nothing; a refresh token used
 * twice kills its family; `mcpd token revoke` ends the grant's session. No token, code or
 * verifier is in any file mcpd wrote.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { UnauthorizedError } from '@modelcontextprotocol/sdk/client/auth.js';
import { startDaemon } from '../helpers/daemon.js';
import { filesUnder } from '../helpers/files.js';
import { filesHolding } from '../helpers/oauth.js';
import { INITIALIZE, POST_HEADERS, send } from '../helpers/mcp-http.js';
import { TestOAuthClient, approveAll, consentOf, pendingIds, tokenList } from '../helpers/oauth-as.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };

describe('mcpd as an OAuth authorization server', () => {
  let s: Sandbox;
  let port: number;
  let base: string;
  const seen: string[] = [];

  before(async () => {
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: server, other: server },
      roles: { user: { grants: [{ server: 'everything' }, { server: 'other' }] } },
      socket: { listen: [{ host: '127.0.0.1', port: 0, auth: [{ type: 'oauth', accessTokenTtl: '3s', roles: ['user'] }] }] },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(listeners[0]!)![1]);
    base = `http://127.0.0.1:${port}`;
  });
  after(async () => {
    // Every token, code and verifier the flows saw: in no file mcpd wrote (the state dir, the log, the audit log).
    assert.deepEqual(await filesHolding(s.dir, seen), []);
    await s.cleanup();
  });

  /** Runs the SDK client's flow up to its redirect; the consent waits for the owner. */
  async function startFlow(oauth: TestOAuthClient): Promise<StreamableHTTPClientTransport> {
    const transport = new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`), { authProvider: oauth });
    const client = new Client({ name: 'oauth-as-test', version: '1.0.0' });
    await assert.rejects(client.connect(transport), UnauthorizedError);
    assert.ok(oauth.authorizationUrl, 'the client was sent to authorize');
    return transport;
  }

  it('publishes RFC 8414 metadata with PKCE S256 only, registration and revocation; each endpoint\'s RFC 9728 metadata names it', async () => {
    const metadata = await (await fetch(`${base}/.well-known/oauth-authorization-server`)).json() as Record<string, unknown>;
    assert.equal(metadata.issuer, `${base}/`);
    assert.deepEqual(metadata.code_challenge_methods_supported, ['S256']);
    assert.equal(metadata.registration_endpoint, `${base}/register`);
    assert.equal(metadata.revocation_endpoint, `${base}/revoke`);
    assert.deepEqual(metadata.grant_types_supported, ['authorization_code', 'refresh_token']);
    // A body it cannot parse is the client's error, and neither it nor a rate limiter's warning reaches the daemon's stderr.
    const malformed = await fetch(`${base}/register`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-forwarded-for': '192.0.2.1' }, body: '{"client_name": "mcpdat_in-a-body' });
    assert.equal(malformed.status, 400);
    assert.equal((await malformed.json() as { error: string }).error, 'invalid_request');
    const stderr = (await filesUnder(s.dir)).find((f) => f.endsWith('daemon.stderr'));
    assert.ok(stderr, 'the daemon\'s stderr is in its state dir');
    const written = await readFile(stderr, 'utf8');
    assert.ok(!/mcpdat_in-a-body|ValidationError|\n\s+at /.test(written), written);
    // Each endpoint's RFC 9728 document names mcpd's own issuer, and a 401 points there.
    const resource = await (await fetch(`${base}/.well-known/oauth-protected-resource/mcp/everything`)).json() as Record<string, unknown>;
    assert.deepEqual(resource.authorization_servers, [`${base}/`]);
    assert.equal(resource.resource, `${base}/mcp/everything`);
    const refused = await send({ port }, 'POST', '/mcp/everything', POST_HEADERS, INITIALIZE);
    assert.equal(refused.status, 401);
    assert.match(String(refused.headers['www-authenticate']), new RegExp(`resource_metadata="${base}/.well-known/oauth-protected-resource/mcp/everything"`));
  });

  it('the SDK client completes the flow once the owner approves, calls a tool, and refreshes', async () => {
    const oauth = new TestOAuthClient('Flow Client');
    const transport = await startFlow(oauth);
    const consent = await consentOf(oauth.authorizationUrl!);
    assert.equal(consent.status, 200);
    assert.match(consent.page, /Flow Client/);
    // Before the owner answers, the page only waits.
    assert.deepEqual(await pendingIds(s), [consent.id]);
    await approveAll(s);
    const code = await oauth.codeFrom(consent.url);
    seen.push(code, oauth.codeVerifierValue);
    await transport.finishAuth(code);
    const first = oauth.tokens()!;
    seen.push(first.access_token, first.refresh_token!);

    const client = new Client({ name: 'oauth-as-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${base}/mcp/everything`), { authProvider: oauth }));
    try {
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'through mcpd\'s own OAuth' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: through mcpd\'s own OAuth' }]);
      // The child gets none of the tokens.
      const env = await client.callTool({ name: 'get-env', arguments: {} });
      const text = JSON.stringify(env.content);
      assert.ok(!text.includes(first.access_token) && !text.includes(first.refresh_token!), 'a token reached the server\'s environment');
      // The access token lives 3 s: the next call meets a 401, and the SDK refreshes and retries.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      const again = await client.callTool({ name: 'echo', arguments: { message: 'after refresh' } });
      assert.deepEqual(again.content, [{ type: 'text', text: 'Echo: after refresh' }]);
      const second = oauth.tokens()!;
      seen.push(second.access_token, second.refresh_token!);
      assert.notEqual(second.refresh_token, first.refresh_token, 'the refresh token rotated');
      assert.notEqual(second.access_token, first.access_token);

      // The old access token is dead; the token is bound to /mcp/everything and opens nothing else.
      const old = await send({ port }, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${first.access_token}` }, INITIALIZE);
      assert.equal(old.status, 401, old.text);
      const elsewhere = await send({ port }, 'POST', '/mcp/other', { ...POST_HEADERS, authorization: `Bearer ${second.access_token}` }, INITIALIZE);
      assert.equal(elsewhere.status, 401, elsewhere.text);
      assert.match(elsewhere.text, /was issued for \/mcp\/everything, not \/mcp\/other/);
      assert.match(String(elsewhere.headers['www-authenticate']), /error="invalid_token"/);

      // `mcpd token ls` lists the grant by its client's name, never a token.
      const listed = await tokenList(s);
      const grant = listed.find((t) => t.client === 'Flow Client');
      assert.ok(grant && grant.source === 'oauth' && /^oauth:[0-9a-f]+$/.test(grant.name), JSON.stringify(listed));
      // The owner's approval is in the audit log, with who decided; the grant's calls carry its subject.
      const audit = (await s.cli(['audit', '--json'])).stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
      const consent = audit.find((e) => e.event === 'oauth.consent' && e.client === 'Flow Client');
      assert.equal(consent?.decision, 'approved');
      assert.equal(consent?.subject, 'owner');
      assert.equal(consent?.resource, `${base}/mcp/everything`);
      assert.ok(audit.some((e) => e.subject === grant.name && e.event === 'tool.call'), 'the calls name the grant');
    } finally {
      await client.close();
    }
  });

  it('a refresh token used twice revokes its whole family (and ends its session)', async () => {
    const oauth = new TestOAuthClient('Reuse Client');
    const transport = await startFlow(oauth);
    const consent = await consentOf(oauth.authorizationUrl!);
    await approveAll(s);
    await transport.finishAuth(await oauth.codeFrom(consent.url));
    const first = oauth.tokens()!;
    const clientId = oauth.clientInformation()!.client_id;
    const refresh = (token: string) => fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: clientId }) });
    const rotated = await refresh(first.refresh_token!);
    assert.equal(rotated.status, 200);
    const next = await rotated.json() as { access_token: string; refresh_token: string };
    seen.push(first.access_token, first.refresh_token!, next.access_token, next.refresh_token);
    const ok = await send({ port }, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${next.access_token}` }, INITIALIZE);
    assert.equal(ok.status, 200, ok.text);

    const replayed = await refresh(first.refresh_token!);
    assert.equal(replayed.status, 400);
    assert.equal((await replayed.json() as { error: string }).error, 'invalid_grant');
    // The family is dead: the live access token and the live refresh token with it.
    const dead = await send({ port }, 'POST', '/mcp/everything', { ...POST_HEADERS, authorization: `Bearer ${next.access_token}` }, INITIALIZE);
    assert.equal(dead.status, 401, dead.text);
    assert.match(dead.text, /was revoked/);
    assert.equal((await refresh(next.refresh_token)).status, 400);
  });

  it('a denied client is sent access_denied, and a client that never got consent has no code to exchange', async () => {
    const oauth = new TestOAuthClient('Denied Client');
    await startFlow(oauth);
    const consent = await consentOf(oauth.authorizationUrl!);
    const [id] = await pendingIds(s);
    const denied = await s.cli(['auth', 'deny', id!]);
    assert.equal(denied.exitCode, 0, denied.stderr);
    const again = await s.cli(['auth', 'approve', id!]);
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, new RegExp(`no authorization request ${id} is waiting`));
    const answer = await fetch(consent.url, { redirect: 'manual' });
    assert.equal(answer.status, 302);
    const back = new URL(answer.headers.get('location')!);
    assert.equal(back.searchParams.get('error'), 'access_denied');
    assert.equal(back.searchParams.get('code'), null);

    // A registered client that made up a code gets nothing either.
    const never = await fetch(`${base}/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', code: 'mcpdac_made-up', code_verifier: 'x'.repeat(43), client_id: oauth.clientInformation()!.client_id }) });
    assert.equal(never.status, 400);
    assert.equal((await never.json() as { error: string }).error, 'invalid_grant');
    const none = await send({ port }, 'POST', '/mcp/everything', POST_HEADERS, INITIALIZE);
    assert.equal(none.status, 401);
  });

  it('an authorization request without PKCE S256, or for an endpoint of another server, is refused', async () => {
    const oauth = new TestOAuthClient('Plain Client');
    await startFlow(oauth);
    const plain = new URL(oauth.authorizationUrl!);
    plain.searchParams.set('code_challenge_method', 'plain');
    const answer = await fetch(plain, { redirect: 'manual' });
    assert.equal(answer.status, 302);
    assert.equal(new URL(answer.headers.get('location')!).searchParams.get('error'), 'invalid_request');
    const foreign = new URL(oauth.authorizationUrl!);
    foreign.searchParams.set('resource', 'https://elsewhere.example/mcp/everything');
    const refused = await fetch(foreign, { redirect: 'manual' });
    assert.equal(new URL(refused.headers.get('location')!).searchParams.get('error'), 'invalid_target');
  });

  it('mcpd token revoke ends the grant\'s open session', async () => {
    const oauth = new TestOAuthClient('Revoked Client');
    const transport = await startFlow(oauth);
    const consent = await consentOf(oauth.authorizationUrl!);
    await approveAll(s);
    await transport.finishAuth(await oauth.codeFrom(consent.url));
    const tokens = oauth.tokens()!;
    seen.push(tokens.access_token, tokens.refresh_token!);
    const headers = { ...POST_HEADERS, authorization: `Bearer ${tokens.access_token}` };
    const opened = await send({ port }, 'POST', '/mcp/everything', headers, INITIALIZE);
    assert.equal(opened.status, 200, opened.text);
    const grant = (await tokenList(s)).find((t) => t.client === 'Revoked Client')!;
    // One: the session the reused refresh token's family had open was ended when that family died.
    const revoked = await s.cli(['token', 'revoke', grant.name, '--json']);
    assert.equal(revoked.exitCode, 0, revoked.stderr);
    assert.equal((JSON.parse(revoked.stdout) as { sessionsClosed: number }).sessionsClosed, 1);
    const session = { ...headers, 'mcp-session-id': String(opened.headers['mcp-session-id']), 'mcp-protocol-version': '2025-11-25' };
    const after = await send({ port }, 'POST', '/mcp/everything', session, { jsonrpc: '2.0', id: 2, method: 'ping' });
    assert.equal(after.status, 401, after.text);
    assert.match(after.text, /was revoked/);
    assert.ok((await tokenList(s)).find((t) => t.name === grant.name)?.revokedAt);
  });
});
