/**
 * A url server that cannot be used: `mcpd run` (through the daemon and with --no-daemon) answers
 * the host app's initialize with the error, prints it naming the server, the URL and the fix,
 * and exits with the error's code. Real servers on loopback: none (refused), a self-signed
 * https one (its certificate made by `openssl req` here), one answering 404 web pages, and one
 * answering 401 to everything.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { once } from 'node:events';
import { readFile } from 'node:fs/promises';
import { createServer as createHttps } from 'node:https';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../helpers/remote.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const INITIALIZE = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 't', version: '1' } } })}\n`;

async function listen(server: Server): Promise<string> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('mcpd run for a url server that cannot be used', () => {
  let s: Sandbox;
  const servers: Server[] = [];
  const urls: Record<string, string> = {};
  before(async () => {
    s = await sandbox();
    urls.refused = `http://127.0.0.1:${await freePort()}/mcp`;
    const key = join(s.dir, 'key.pem');
    const cert = join(s.dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const tls = createHttps({ key: await readFile(key), cert: await readFile(cert) }, (_req, res) => res.end('{}'));
    const web = createServer((req, res) => { req.resume(); res.writeHead(404, { 'content-type': 'text/html' }).end('<html><body>Not here</body></html>'); });
    const locked = createServer((req, res) => { req.resume(); res.writeHead(401, { 'www-authenticate': 'Bearer realm="x"' }).end('{"error":"invalid_token"}'); });
    servers.push(tls, web, locked);
    urls.tls = `https://${await listen(tls)}/mcp`;
    urls.web = `http://${await listen(web)}/mcp`;
    urls.locked = `http://${await listen(locked)}/mcp`;
    await s.writeConfig({
      mcpServers: {
        refused: { url: urls.refused },
        tls: { url: urls.tls },
        web: { url: urls.web },
        locked: { url: urls.locked },
        lockedWithToken: { url: urls.locked, headers: { Authorization: 'Bearer ${env:REMOTE_TEST_TOKEN}' } },
        lockedNoOAuth: { url: urls.locked, oauth: false },
      },
    });
  });
  after(async () => {
    await s.cleanup();
    for (const server of servers) server.close();
  });

  const cases = [
    { name: 'refused', code: 'REMOTE_UNREACHABLE', exit: 1, message: () => `server "refused": cannot reach ${urls.refused}: connection refused (ECONNREFUSED)`, hint: 'check that the server is up and that mcpServers.refused.url is right' },
    { name: 'tls', code: 'REMOTE_TLS', exit: 1, message: () => `server "tls": the TLS certificate of ${urls.tls} is not trusted (DEPTH_ZERO_SELF_SIGNED_CERT)`, hint: 'point NODE_EXTRA_CA_CERTS at that CA\'s certificate' },
    { name: 'web', code: 'REMOTE_NOT_MCP', exit: 2, message: () => `server "web": ${urls.web} does not speak MCP: its POST was answered 404 (not Streamable HTTP) and its GET for an event stream was answered 404 (not the legacy SSE transport)`, hint: 'set mcpServers.web.url to the server\'s MCP endpoint' },
    // 401 and no OAuth metadata to discover: a token the user makes, given to mcpd auth login.
    { name: 'locked', code: 'AUTH_TOKEN_NEEDED', exit: 5, message: () => `server "locked": ${urls.locked} wants a token and offers no OAuth sign-in`, hint: 'run mcpd auth login locked to give mcpd the token' },
    { name: 'lockedNoOAuth', code: 'REMOTE_UNAUTHORIZED', exit: 5, message: () => `server "lockedNoOAuth": ${urls.locked} answered 401 Unauthorized and mcpServers.lockedNoOAuth sends no credentials ("oauth": false, no Authorization header)`, hint: '"headers": {"Authorization": "Bearer ${secret:lockedNoOAuth/token}"}, or drop "oauth": false' },
    { name: 'lockedWithToken', code: 'REMOTE_UNAUTHORIZED', exit: 5, message: () => `server "lockedWithToken": ${urls.locked} answered 401 Unauthorized to the Authorization header mcpd sent`, hint: 'mcpServers.lockedWithToken.headers.Authorization resolves to was refused' },
  ];

  for (const mode of [['run'], ['run', '--no-daemon']]) {
    for (const c of cases) {
      it(`${mode.join(' ')} ${c.name}: ${c.code}, exit ${c.exit}`, async () => {
        const token = 'tok-never-printed-0123456789';
        const result = await s.cli([...mode, c.name], { input: INITIALIZE, env: { REMOTE_TEST_TOKEN: token } });
        assert.equal(result.exitCode, c.exit, result.stderr);
        assert.ok(result.stderr.includes(`mcpd: ${c.message()}`), result.stderr);
        assert.ok(result.stderr.includes(c.hint), result.stderr);
        const answer = JSON.parse(result.stdout.split('\n')[0]!) as { id: number; error: { message: string } };
        assert.equal(answer.id, 1, 'the host app\'s initialize is answered, not left waiting');
        assert.ok(answer.error.message.startsWith(c.message()), answer.error.message);
        assert.ok(!result.stderr.includes(token) && !result.stdout.includes(token));
        assert.ok(!result.stderr.includes('Not here') && !result.stderr.includes('invalid_token'), 'the remote server\'s body is not quoted');
      });
    }
  }
});
