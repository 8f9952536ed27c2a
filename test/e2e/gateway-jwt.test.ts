/**
 * The `jwt` provider through a real daemon and server-everything, against the JwtIssuer double
 * (test/doubles/jwt-issuer.ts): RFC 9728 metadata for each endpoint and the 401's hint to it; a
 * valid token through the SDK's Client; the SDK's client finding the authorization server by
 * itself from a 401 and getting its own token; each bad token refused with its status and
 * WWW-Authenticate (expired, not yet valid, another audience, another issuer, an unknown key,
 * a missing scope); a rotation of the issuer's key picked up without a restart; roles from the
 * claim limiting tools; the endpoint's URL on a TLS listener, behind a proxy (publicUrl) and on a
 * unix socket; a WebSocket session ended when its JWT expires, an HTTP session going on with a
 * fresh one; and the tokens in no file mcpd wrote and not in the server's environment.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { execa } from 'execa';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { ClientCredentialsProvider } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { REFETCH_COOLDOWN_MS } from '../../daemon/auth/providers/jwks.js';
import { JwtIssuer } from '../doubles/jwt-issuer.js';
import { MiniSession, startDaemon, waitFor } from '../helpers/daemon.js';
import { type Answer, INITIALIZE, messagesOf, POST_HEADERS, send, type Target } from '../helpers/mcp-http.js';
import { alive, waitUntilGone } from '../helpers/procs.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { filesUnder } from '../helpers/files.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const server = { command: process.execPath, args: [everything, 'stdio'] };

/** A self-signed certificate for 127.0.0.1 in `dir` (cert.pem, key.pem). */
async function selfSigned(dir: string): Promise<{ cert: string; key: string }> {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  await execa('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1']);
  return { cert, key };
}

describe('/mcp/NAME with the jwt provider', () => {
  let s: Sandbox;
  let issuer: JwtIssuer;
  let port: number;
  let tlsPort: number;
  let publicPort: number;
  const endpoint = (name: string) => `http://127.0.0.1:${port}/mcp/${name}`;
  const metadataUrl = (name: string) => `http://127.0.0.1:${port}/.well-known/oauth-protected-resource/mcp/${name}`;
  const initialize = (name: string, token?: string): Promise<Answer> =>
    send({ port }, 'POST', `/mcp/${name}`, { ...POST_HEADERS, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) }, INITIALIZE);
  /** A session of the SDK's Client with `token`; `use` runs on it, then it ends. */
  async function withClient<T>(name: string, token: string, use: (client: Client) => Promise<T>): Promise<T> {
    const transport = new StreamableHTTPClientTransport(new URL(endpoint(name)), { requestInit: { headers: { authorization: `Bearer ${token}` } } });
    const client = new Client({ name: 'mcpd-gateway-jwt', version: '1.0.0' });
    await client.connect(transport);
    try {
      return await use(client);
    } finally {
      await transport.terminateSession();
      await client.close();
    }
  }
  /** The session opened since `before` was listed (`mcpd sessions`): its id and its server's pid. */
  async function newSession(before: ReadonlyArray<{ id: string }>): Promise<{ id: string; pid: number }> {
    const fresh = (JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ id: string; pid: number }>).filter((r) => !before.some((b) => b.id === r.id));
    assert.equal(fresh.length, 1, JSON.stringify(fresh));
    return fresh[0]!;
  }
  const sessionIds = async (): Promise<string[]> => (JSON.parse((await s.cli(['sessions', '--json'])).stdout) as Array<{ id: string }>).map((r) => r.id);
  /**
   * A token for `everything` that jose takes for `seconds` more: its exp is that much short of the
   * 30 s of leeway in the past. Enough seconds for server-everything to start and answer the
   * initialize on a loaded machine, before the session's end is what is tested.
   */
  const expiringIn = async (seconds: number): Promise<{ token: string; until: number }> => {
    const exp = Math.floor(Date.now() / 1000) - 30 + seconds;
    return { token: await issuer.mint(endpoint('everything'), { scope: 'mcp', exp }), until: (exp + 30) * 1000 };
  };
  const refusal = (answer: Answer) => (JSON.parse(answer.text) as { error: { code: string; message: string; hint: string } }).error;

  before(async () => {
    issuer = await JwtIssuer.start({ claims: { roles: ['full'] } });
    s = await sandbox();
    await s.writeConfig({
      mcpServers: { everything: server, other: server },
      roles: {
        full: { grants: [{ server: '*' }] },
        echoer: { grants: [{ server: 'everything', tools: ['echo'] }] },
      },
      socket: { listen: [
        { host: '127.0.0.1', port: 0, auth: [{ type: 'jwt', issuer: issuer.issuer, scopes: ['mcp'], serverScopes: { other: ['mcp:other'] } }] },
        // How each other kind of listener names its endpoints.
        { host: '127.0.0.1', port: 0, tls: await selfSigned(s.dir), auth: [{ type: 'jwt', issuer: issuer.issuer }] },
        { host: '127.0.0.1', port: 0, publicUrl: 'https://mcp.example.com', auth: [{ type: 'jwt', issuer: issuer.issuer }] },
        { path: join(s.dir, 'team.sock'), auth: [{ type: 'jwt', issuer: issuer.issuer }] },
      ] },
    });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    [port, tlsPort, publicPort] = listeners.slice(0, 3).map((l) => Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(l)![1])) as [number, number, number];
  });
  after(async () => {
    await s.cleanup();
    await issuer.close();
  });

  it('publishes RFC 9728 metadata for each endpoint, naming the issuer and the scopes that server needs', async () => {
    for (const [name, scopes] of [['everything', ['mcp']], ['other', ['mcp', 'mcp:other']]] as const) {
      const answer = await send({ port }, 'GET', `/.well-known/oauth-protected-resource/mcp/${name}`, {});
      assert.equal(answer.status, 200, answer.text);
      assert.deepEqual(JSON.parse(answer.text), { resource: endpoint(name), authorization_servers: [issuer.issuer], scopes_supported: scopes, bearer_methods_supported: ['header'] });
    }
  });

  it('names an endpoint https on a TLS listener, by publicUrl behind a proxy, and http://localhost on a unix socket', async () => {
    const ca = await readFile(join(s.dir, 'cert.pem'));
    const targets: Array<[Target, string]> = [
      [{ port: tlsPort, ca }, `https://127.0.0.1:${tlsPort}`],
      [{ port: publicPort }, 'https://mcp.example.com'],
      [{ socketPath: join(s.dir, 'team.sock') }, 'http://localhost'],
    ];
    for (const [target, origin] of targets) {
      const answer = await send(target, 'GET', '/.well-known/oauth-protected-resource/mcp/everything', {});
      assert.equal(answer.status, 200, answer.text);
      assert.equal((JSON.parse(answer.text) as { resource: string }).resource, `${origin}/mcp/everything`);
      const refused = await send(target, 'POST', '/mcp/everything', POST_HEADERS, INITIALIZE);
      assert.equal(refused.headers['www-authenticate'], `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource/mcp/everything"`);
    }
  });

  it('a request without a token gets 401 pointing at that metadata', async () => {
    const answer = await initialize('other');
    assert.equal(answer.status, 401, answer.text);
    assert.equal(answer.headers['www-authenticate'], `Bearer resource_metadata="${metadataUrl('other')}", scope="mcp mcp:other"`);
    assert.equal(refusal(answer).code, 'TOKEN_REQUIRED');
    assert.match(refusal(answer).message, new RegExp(`/mcp/other needs an access token from ${issuer.issuer}`));
  });

  it('a valid token opens a session through the SDK\'s Client; the token is not in the server\'s environment', async () => {
    const token = await issuer.mint(endpoint('everything'), { scope: 'openid mcp' });
    const env = await withClient('everything', token, async (client) => {
      assert.ok((await client.listTools()).tools.some((t) => t.name === 'get-env'));
      return JSON.stringify(await client.callTool({ name: 'get-env', arguments: {} }));
    });
    assert.match(env, /PATH/);
    assert.ok(!env.includes(token) && !env.includes(token.split('.')[2]!), 'the JWT reached the server');
  });

  it('the SDK\'s client finds the authorization server from the 401 and gets a token for this endpoint by itself', async () => {
    const before = issuer.issued.length;
    const authProvider = new ClientCredentialsProvider({ clientId: 'mcp-client', clientSecret: 'mcp-secret', scope: 'mcp', expectedIssuer: issuer.issuer });
    const transport = new StreamableHTTPClientTransport(new URL(endpoint('everything')), { authProvider });
    const client = new Client({ name: 'mcpd-gateway-jwt-discovery', version: '1.0.0' });
    try {
      // No token yet: the 401's resource_metadata leads it to the issuer, and the transport retries with its token.
      await client.connect(transport);
      const echo = await client.callTool({ name: 'echo', arguments: { message: 'found it' } });
      assert.deepEqual(echo.content, [{ type: 'text', text: 'Echo: found it' }]);
    } finally {
      await transport.terminateSession().catch(() => {});
      await client.close();
    }
    assert.equal(issuer.issued.length, before + 1, 'one token was asked for');
    const [, payload] = issuer.issued.at(-1)!.split('.');
    assert.deepEqual(JSON.parse(Buffer.from(payload!, 'base64url').toString()).aud, endpoint('everything'), 'asked for this endpoint (RFC 8707 resource)');
  });

  it('refuses a token expired, not yet valid, for another audience, from another issuer or signed by an unknown key: 401 invalid_token', async () => {
    const now = Math.floor(Date.now() / 1000);
    const foreign = await JwtIssuer.foreignKey();
    const cases: Array<[string, Promise<string>, RegExp]> = [
      ['expired', issuer.mint(endpoint('everything'), { scope: 'mcp' }, { seconds: -120 }), /refused the token: it expired at \d{4}-\d\d-\d\dT/],
      ['not yet valid', issuer.mint(endpoint('everything'), { scope: 'mcp', nbf: now + 600 }), /refused the token: it is not valid before \d{4}-/],
      ['another audience', issuer.mint(endpoint('other'), { scope: 'mcp mcp:other' }), new RegExp(`refused the token: it is for "${endpoint('other')}", not ${endpoint('everything')}`)],
      ['another issuer', issuer.mint(endpoint('everything'), { scope: 'mcp', iss: 'https://id.example.com' }), new RegExp(`refused the token: it was issued by "https://id.example.com", not ${issuer.issuer}`)],
      ['an unknown key', issuer.mint(endpoint('everything'), { scope: 'mcp' }, { key: foreign }), new RegExp(`refused the token: it is signed by a key ${issuer.issuer} does not publish`)],
      ['not a JWT', Promise.resolve('mcpd_not-a-jwt'), /refused the token: it is not a JWT mcpd can verify/],
    ];
    for (const [what, minted, message] of cases) {
      const token = await minted;
      const answer = await initialize('everything', token);
      assert.equal(answer.status, 401, `${what}: ${answer.text}`);
      assert.equal(answer.headers['www-authenticate'], `Bearer resource_metadata="${metadataUrl('everything')}", error="invalid_token", scope="mcp"`, what);
      assert.equal(refusal(answer).code, 'JWT_INVALID', what);
      assert.match(refusal(answer).message, message, what);
      assert.match(refusal(answer).message, /^socket\.listen\[0\]\.auth\[0\] \(jwt\)/, what);
      assert.ok(!answer.text.includes(token), `${what}: the refusal echoes the token`);
    }
  });

  it('takes a token expired within the leeway (30 s)', async () => {
    const token = await issuer.mint(endpoint('everything'), { scope: 'mcp' }, { seconds: -10 });
    const answer = await initialize('everything', token);
    assert.equal(answer.status, 200, answer.text);
    await send({ port }, 'DELETE', '/mcp/everything', { authorization: `Bearer ${token}`, 'mcp-session-id': String(answer.headers['mcp-session-id']) });
  });

  it('ends a WebSocket session when its JWT expires (exp + the leeway), as a client token\'s: closed 1008, its server stopped, the close audited', { timeout: 10_000 }, async () => {
    const before = (await sessionIds()).map((id) => ({ id }));
    const { token, until } = await expiringIn(5);
    const ws = await MiniSession.at(`ws://127.0.0.1:${port}/v1/session/everything`, token);
    await ws.initialize();
    const { id, pid } = await newSession(before);
    assert.deepEqual((await ws.request('ping')).result, {}, 'the session works while the token holds');
    const [code, reason] = await ws.closed;
    assert.ok(Date.now() >= until, `closed ${until - Date.now()} ms before the token expired`);
    assert.equal(code, 1008);
    assert.equal(reason, 'the session\'s client token was revoked or has expired');
    await waitUntilGone([pid]);
    const auditFile = (await filesUnder(s.dir)).find((f) => f.endsWith('audit.log'))!;
    const closed = async () => (await readFile(auditFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { event: string; session?: string; subject?: string; reason?: string })
      .find((l) => l.event === 'session.close' && l.session === id);
    await waitFor(async () => (await closed()) !== undefined, 'the session\'s close in the audit log');
    assert.match((await closed())!.subject ?? '', /^jwt:alice@127\.0\.0\.1:\d+$/);
    assert.equal((await closed())!.reason, 'the session\'s client token was revoked or has expired', 'the audit line says why');
  });

  it('an HTTP session outlives its first JWT: that token expired gets 401, a fresh one for the same subject goes on in the same session', { timeout: 10_000 }, async () => {
    const before = (await sessionIds()).map((id) => ({ id }));
    const { token: first, until } = await expiringIn(5);
    const opened = await initialize('everything', first);
    assert.equal(opened.status, 200, opened.text);
    const sessionId = String(opened.headers['mcp-session-id']);
    const headers = (token: string) => ({ ...POST_HEADERS, authorization: `Bearer ${token}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' });
    const ping = (token: string, id: number) => send({ port }, 'POST', '/mcp/everything', headers(token), { jsonrpc: '2.0', id, method: 'ping' });
    assert.equal((await send({ port }, 'POST', '/mcp/everything', headers(first), { jsonrpc: '2.0', method: 'notifications/initialized' })).status, 202);
    const { id, pid } = await newSession(before);
    // Past the moment the daemon would have closed it, were it bound to its first token.
    await sleep(until + 300 - Date.now());
    const stale = await ping(first, 2);
    assert.equal(stale.status, 401, stale.text);
    assert.equal(refusal(stale).code, 'JWT_INVALID');
    assert.match(refusal(stale).message, /refused the token: it expired at \d{4}-/);
    const fresh = await issuer.mint(endpoint('everything'), { scope: 'mcp' });
    const pong = await ping(fresh, 3);
    assert.equal(pong.status, 200, pong.text);
    assert.deepEqual(messagesOf(pong).find((m) => m.id === 3)?.result, {});
    // Another subject's fresh token finds no such session.
    assert.equal((await ping(await issuer.mint(endpoint('everything'), { scope: 'mcp', sub: 'bob' }), 4)).status, 404);
    assert.ok((await sessionIds()).includes(id), 'the same mcpd session');
    assert.deepEqual(await alive([pid]), [pid], 'its server runs on');
    await send({ port }, 'DELETE', '/mcp/everything', { authorization: `Bearer ${fresh}`, 'mcp-session-id': sessionId });
    await waitUntilGone([pid]);
  });

  it('a request whose token brings other roles ends its HTTP session (404 saying why, the server stopped); the same roles in another order go on', { timeout: 10_000 }, async () => {
    const before = (await sessionIds()).map((id) => ({ id }));
    const first = await issuer.mint(endpoint('everything'), { scope: 'mcp', roles: ['full', 'echoer'] });
    const opened = await initialize('everything', first);
    assert.equal(opened.status, 200, opened.text);
    const sessionId = String(opened.headers['mcp-session-id']);
    const ping = async (roles: string[], id: number) => send({ port }, 'POST', '/mcp/everything', {
      ...POST_HEADERS, authorization: `Bearer ${await issuer.mint(endpoint('everything'), { scope: 'mcp', roles })}`, 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25',
    }, { jsonrpc: '2.0', id, method: 'ping' });
    const { pid } = await newSession(before);
    const same = await ping(['echoer', 'full', 'echoer'], 2);
    assert.equal(same.status, 200, same.text);
    const narrowed = await ping(['echoer'], 3);
    assert.equal(narrowed.status, 404, narrowed.text);
    assert.equal((JSON.parse(narrowed.text) as { error: { message: string } }).error.message, 'Session not found: your roles changed since it was opened; start a new session');
    await waitUntilGone([pid]);
    assert.equal((await ping(['full', 'echoer'], 4)).status, 404, 'the session is over for its old roles too');
    const echoer = await issuer.mint(endpoint('everything'), { scope: 'mcp', roles: ['echoer'] });
    const reopened = await initialize('everything', echoer);
    assert.equal(reopened.status, 200, reopened.text);
    const deleted = await send({ port }, 'DELETE', '/mcp/everything', { authorization: `Bearer ${echoer}`, 'mcp-session-id': String(reopened.headers['mcp-session-id']) });
    assert.equal(deleted.status, 200, deleted.text);
  });

  it('refuses a token without a scope the provider or the server needs: 403 insufficient_scope naming them', async () => {
    const none = await initialize('everything', await issuer.mint(endpoint('everything'), { scope: 'openid' }));
    assert.equal(none.status, 403, none.text);
    assert.equal(none.headers['www-authenticate'], `Bearer resource_metadata="${metadataUrl('everything')}", error="insufficient_scope", scope="mcp"`);
    assert.equal(refusal(none).code, 'SCOPE_INSUFFICIENT');
    assert.match(refusal(none).message, /the token lacks the scope mcp needed for server "everything"/);
    // A scope that only begins like the one needed is not it.
    const other = await initialize('other', await issuer.mint(endpoint('other'), { scope: 'mcp mcp:other-things' }));
    assert.equal(other.status, 403, other.text);
    assert.equal(other.headers['www-authenticate'], `Bearer resource_metadata="${metadataUrl('other')}", error="insufficient_scope", scope="mcp mcp:other"`);
    assert.match(refusal(other).message, /lacks the scope mcp:other needed for server "other"/);
    assert.match(refusal(other).hint, /ask http:\/\/127\.0\.0\.1:\d+ for a token with scope "mcp mcp:other"/);
  });

  it('picks up a rotation of the issuer\'s signing key (a new kid) without a restart', async () => {
    const old = await issuer.mint(endpoint('everything'), { scope: 'mcp' });
    await withClient('everything', old, async (client) => assert.ok((await client.listTools()).tools.length > 0));
    await issuer.rotate();
    const fetched = issuer.jwksFetches;
    // jose fetches the set again for an unknown kid once its cooldown since the last fetch is over.
    await sleep(REFETCH_COOLDOWN_MS + 100);
    const rotated = await issuer.mint(endpoint('everything'), { scope: 'mcp' });
    await withClient('everything', rotated, async (client) => assert.ok((await client.listTools()).tools.length > 0));
    assert.equal(issuer.jwksFetches, fetched + 1, 'the JWKS was fetched again once');
    const stale = await initialize('everything', old);
    assert.equal(stale.status, 401, 'a token of the retired key is refused');
  });

  it('takes roles from the claim (array or space-separated), ignoring names the config does not define; they limit the tools', async () => {
    for (const roles of [['echoer', 'admin-of-everything'], 'echoer admin-of-everything']) {
      const token = await issuer.mint(endpoint('everything'), { scope: 'mcp', roles });
      await withClient('everything', token, async (client) => {
        assert.deepEqual((await client.listTools()).tools.map((t) => t.name), ['echo']);
      });
    }
    const roleless = await initialize('everything', await issuer.mint(endpoint('everything'), { scope: 'mcp', roles: ['admin-of-everything'] }));
    assert.equal(roleless.status, 403, roleless.text);
    assert.match(refusal(roleless).message, /^jwt:alice@127\.0\.0\.1:\d+ may not open a session to "everything": it holds no role/);
  });

  it('no token it took or refused is in any file mcpd wrote; the audit log names the subject and its roles', async () => {
    const written = await filesUnder(s.dir);
    const auditFile = written.find((f) => f.endsWith('audit.log'));
    assert.ok(auditFile, `the audit log is among them: ${written.join(', ')}`);
    assert.ok(issuer.issued.length >= 10, `${issuer.issued.length} tokens`);
    for (const file of written) {
      const text = await readFile(file, 'latin1');
      for (const token of issuer.issued) assert.ok(!text.includes(token) && !text.includes(token.split('.')[2]!), `${file} holds a JWT`);
    }
    const lines = (await readFile(auditFile, 'utf8')).split('\n').filter(Boolean).map((l) => JSON.parse(l) as { subject?: string; roles?: string[] });
    assert.ok(lines.some((l) => /^jwt:alice@127\.0\.0\.1:\d+$/.test(l.subject ?? '') && l.roles?.join() === 'echoer'), 'a session of the echoer role is audited with its subject');
    assert.ok(lines.some((l) => l.subject === `jwt:mcp-client@127.0.0.1:${new URL(issuer.issuer).port}`), 'the client_credentials client is audited as its own subject');
  });
});
