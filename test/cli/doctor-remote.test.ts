/**
 * `mcpd doctor` on url servers, against real remote servers on loopback ports: a healthy one
 * (server-everything behind a header check), an unreachable one, one that answers 401 and one
 * that is not MCP; each check's message asserted, and the token never printed nor sent to the
 * server that should not get it.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Check } from '../../cli/commands/doctor.js';
import { authGuard, freePort, type Guard, type Running, startEverything } from '../helpers/remote.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const token = 'doctor-remote-token-9a8b7c';

describe('mcpd doctor: remote servers', () => {
  let s: Sandbox;
  let everything: Running;
  let guard: Guard;
  let web: Server;
  const webSeen: IncomingHttpHeaders[] = [];
  let webOrigin: string;
  let deadPort: number;
  let hole: TcpServer;
  const held: Socket[] = [];

  before(async () => {
    everything = await startEverything('streamableHttp');
    guard = await authGuard(everything.origin, [token]);
    // A web page, not MCP: 404 to everything, recording what it was sent.
    web = createServer((req, res) => {
      webSeen.push(req.headers);
      res.writeHead(404, { 'content-type': 'text/html' }).end('<html>not here</html>');
    });
    web.listen(0, '127.0.0.1');
    await once(web, 'listening');
    webOrigin = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    deadPort = await freePort();
    // Takes connections and never answers.
    hole = createTcpServer((socket) => held.push(socket));
    hole.listen(0, '127.0.0.1');
    await once(hole, 'listening');
    const holeUrl = `http://127.0.0.1:${(hole.address() as AddressInfo).port}/mcp`;
    s = await sandbox();
    const auth = { Authorization: 'Bearer ${local:remote/token}' };
    await s.writeConfig({
      providers: { local: { type: 'local', key: 'file' } },
      mcpServers: {
        healthy: { url: `${guard.origin}/mcp`, headers: auth },
        unreachable: { url: `http://127.0.0.1:${deadPort}/mcp`, headers: auth },
        unauthorized: { url: `${guard.origin}/mcp` },
        web: { url: `${webOrigin}/mcp`, headers: auth },
        literal: { url: `${guard.origin}/mcp`, headers: { Authorization: `Bearer ${token}` } },
        silent: { url: holeUrl },
        unresolved: { url: `${guard.origin}/mcp`, headers: { Authorization: 'Bearer ${local:remote/missing}' } },
      },
    });
    assert.equal((await s.cli(['secret', 'set', 'local:remote/token'], { input: token })).exitCode, 0);
  });
  after(async () => {
    await s.cleanup();
    await guard.stop();
    await everything.stop();
    for (const socket of held) socket.destroy();
    hole.close();
    web.closeAllConnections();
    await new Promise((resolve) => web.close(resolve));
  });

  it('each url server: answers as MCP with its auth state, or the failure with its fix; no token printed', async () => {
    const run = await s.cli(['doctor', '--json']);
    assert.equal(run.exitCode, 1, run.stderr);
    const checks = JSON.parse(run.stdout) as Check[];
    const one = (name: string) => {
      const found = checks.filter((c) => c.subject === `remote ${name}`);
      assert.equal(found.length, 1, JSON.stringify(checks));
      return found[0]!;
    };
    const healthy = one('healthy');
    assert.equal(healthy.status, 'ok');
    assert.match(healthy.message, new RegExp(`^${guard.origin}/mcp answers as MCP \\(\\S+ [\\d.]+, over Streamable HTTP\\); auth: header\\(s\\) Authorization from \\$\\{local:remote/token\\}$`));

    const unreachable = one('unreachable');
    assert.equal(unreachable.status, 'fail');
    assert.equal(unreachable.message, `REMOTE_UNREACHABLE: server "unreachable": cannot reach http://127.0.0.1:${deadPort}/mcp: connection refused (ECONNREFUSED)`);
    assert.match(unreachable.fix ?? '', /^check that the server is up and that mcpServers\.unreachable\.url is right/);

    const unauthorized = one('unauthorized');
    assert.equal(unauthorized.status, 'fail');
    // No header, so mcpd signs in to it, and it holds no sign-in yet: doctor says how, and opens nothing.
    assert.equal(unauthorized.message, `${guard.origin}/mcp wants mcpd to sign in (auth: OAuth, signed-out)`);
    assert.equal(unauthorized.fix, 'mcpd auth login unauthorized');

    const notMcp = one('web');
    assert.equal(notMcp.status, 'fail');
    assert.match(notMcp.message, new RegExp(`^REMOTE_NOT_MCP: server "web": ${webOrigin}/mcp does not speak MCP: its POST was answered 404 .*and its GET for an event stream was answered 404`));
    assert.match(notMcp.fix ?? '', /^set mcpServers\.web\.url to the server's MCP endpoint/);

    const literal = one('literal');
    assert.equal(literal.status, 'warn');
    assert.match(literal.message, /answers as MCP .*; auth: header\(s\) Authorization \(written in the config\); Authorization hold\(s\) a credential written in mcpd's config file$/);
    assert.equal(literal.fix, 'mcpd secret set literal/authorization (the token alone), then write "Authorization": "${secret:literal/authorization}" (after "Bearer " if it has one)');

    const silent = one('silent');
    assert.equal(silent.status, 'fail');
    assert.match(silent.message, /^http:\/\/127\.0\.0\.1:\d+\/mcp did not answer initialize within 5 s$/);
    assert.match(silent.fix ?? '', /^check that the server is up/);

    const unresolved = one('unresolved');
    assert.equal(unresolved.status, 'fail');
    assert.match(unresolved.message, /^its headers do not resolve, so it was not asked: .*remote\/missing/);

    assert.ok(!run.stdout.includes(token) && !run.stderr.includes(token), 'no token printed');
    const text = await s.cli(['doctor']);
    assert.match(text.stdout, /^ok {4}remote healthy: /m);
    assert.match(text.stdout, /^FAIL {2}remote web: REMOTE_NOT_MCP: .*\n {6}fix: set mcpServers\.web\.url/m);
    assert.ok(!text.stdout.includes(token) && !text.stderr.includes(token), 'no token printed');
  });

  it('the healthy server got the token and its session was closed (DELETE); the one without headers sent none', async () => {
    const withToken = guard.seen.filter((h) => h.authorization === `Bearer ${token}`);
    assert.ok(withToken.some((h) => h[':method'] === 'POST'), 'initialize with the token');
    assert.ok(withToken.some((h) => h[':method'] === 'DELETE'), 'the session closed');
    assert.ok(guard.seen.some((h) => h.authorization === undefined), 'the server without headers sent none');
    // The not-MCP web server is the configured origin: it gets the header, as the daemon would send it.
    assert.ok(webSeen.length > 0);
  });
});
