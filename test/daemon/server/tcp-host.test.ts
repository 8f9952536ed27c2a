/**
 * DNS rebinding against the loopback TCP listener, for real: requests that carry another
 * site's name in Host or Origin are refused with 403 before any token is looked at; loopback
 * names and the listener's allowedHosts go on to the usual token check.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { rawRequest, startDaemon } from '../../helpers/daemon.js';

const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };
const UPGRADE = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' };

/** A request to 127.0.0.1:port with exactly these headers; the status and the error body. */
function ask(port: number, path: string, headers: Record<string, string>): Promise<{ status: number; code: string; message: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        const { error } = JSON.parse(text) as { error: { code: string; message: string } };
        resolve({ status: res.statusCode ?? 0, code: error.code, message: error.message });
      });
    });
    req.on('upgrade', (_res, socket) => { socket.destroy(); reject(new Error(`${path} was upgraded`)); });
    req.on('error', reject).end();
  });
}

describe('the loopback TCP listener and foreign Host and Origin headers', () => {
  let s: Sandbox;
  let port: number;
  let token: string;
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini }, socket: { listen: [{ host: '127.0.0.1', port: 0, allowedHosts: ['host.docker.internal'] }] } });
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(listeners[0]!)![1]);
    token = (await s.cli(['token', 'create', 'page', '--scope', 'launch:mini'])).stdout.trim();
  });
  after(() => s.cleanup());

  it('another site\'s name in Host: 403 naming the header, even with a valid token, upgrade or not', async () => {
    const expected = { status: 403, code: 'REFUSED', message: `socket.listen[0] refused a request with the Host header "rebind.example:${port}": only localhost, 127.0.0.1, [::1] and the names in its allowedHosts may be used` };
    assert.deepEqual(await ask(port, '/v1/session/mini', { ...UPGRADE, host: `rebind.example:${port}`, authorization: `Bearer ${token}` }), expected);
    assert.deepEqual(await ask(port, '/v1/control', { host: `rebind.example:${port}` }), expected);
  });

  it('a page of another site (Origin) on a loopback Host: 403 naming the Origin', async () => {
    const answer = await ask(port, '/v1/session/mini', { ...UPGRADE, host: `127.0.0.1:${port}`, origin: 'https://rebind.example', authorization: `Bearer ${token}` });
    assert.deepEqual([answer.status, answer.code], [403, 'REFUSED']);
    assert.match(answer.message, /^socket\.listen\[0\] refused a request with the Origin header "https:\/\/rebind\.example"/);
  });

  it('loopback names and allowedHosts, with or without an Origin, go on to the token check', async () => {
    for (const headers of [{ host: `localhost:${port}` } as Record<string, string>, { host: `127.0.0.1:${port}`, origin: 'http://localhost:5173' }, { host: `host.docker.internal:${port}`, origin: 'http://host.docker.internal' }]) {
      const answer = await ask(port, '/v1/session/mini', { ...UPGRADE, ...headers });
      assert.deepEqual([answer.status, answer.code], [401, 'TOKEN_REQUIRED'], JSON.stringify(headers));
    }
  });

  it('the owner-only Unix socket does not judge Host (no browser reaches it)', async () => {
    const answer = await rawRequest(s.env.MCPD_SOCKET!, '/v1/session/ghost', true, { host: 'rebind.example' });
    assert.equal(answer.status, 404);
  });
});
