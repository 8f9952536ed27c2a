/**
 * Each extra listener of a real daemon authenticates with its own `auth` chain: forwarded
 * headers from an address that is not a proxy refused (403, counted in the audit log), a
 * proxy's user accepted with its groups' roles, bearer after forwarded, `none` as anonymous,
 * the 401's WWW-Authenticate; and a config with `none` beyond loopback refused at load.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { MiniSession, startDaemon, waitFor } from '../../helpers/daemon.js';
import { type Answer, ask } from '../../helpers/auth-chain.js';

const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };
const config = {
  mcpServers: { mini },
  roles: { reader: {} },
  socket: {
    listen: [
      { host: '127.0.0.1', port: 0, auth: [{ type: 'forwarded', proxies: ['10.0.0.0/8'] }] },
      { host: '127.0.0.1', port: 0, auth: [{ type: 'forwarded', proxies: ['127.0.0.1'], groupRoles: { eng: ['reader'] } }, { type: 'bearer' }] },
      { host: '127.0.0.1', port: 0, auth: [{ type: 'none', roles: ['reader'] }] },
      { host: '127.0.0.1', port: 0 },
    ],
  },
};

const SESSION = '/v1/session/mini';
const refused = (answer: Answer) => {
  assert.notEqual(answer.status, 101, JSON.stringify(answer));
  const { status, challenge, error } = answer as Exclude<Answer, { status: 101 }>;
  return { status, challenge, code: error.code, message: error.message };
};

describe('listeners with their own auth chains, in a real daemon', () => {
  let s: Sandbox;
  let ports: number[];
  before(async () => {
    s = await sandbox();
    await s.writeConfig(config);
    await startDaemon(s);
    const { listeners } = JSON.parse((await s.cli(['status', '--json'])).stdout) as { listeners: string[] };
    ports = listeners.map((l) => Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(l)![1]));
    assert.equal(ports.length, 4);
  });
  after(() => s.cleanup());

  it('forwarded headers from 127.0.0.1 where the proxies are 10.0.0.0/8: 403 naming the peer, counted in the audit log', async () => {
    assert.deepEqual(refused(await ask(ports[0]!, ['X-Forwarded-User: alice', 'X-Forwarded-Groups: eng'], '127.0.0.1', SESSION)), {
      status: 403, challenge: undefined, code: 'PROXY_UNTRUSTED',
      message: 'socket.listen[0].auth[0] (forwarded) refused a request from 127.0.0.1: it is not one of the proxies whose X-Forwarded-User header is trusted',
    });
    const audit = join(s.env.XDG_STATE_HOME!, 'mcpd', 'audit.log');
    await waitFor(async () => (await readFile(audit, 'utf8').catch(() => '')).includes('"code":"PROXY_UNTRUSTED"'), 'the refusal in the audit log');
    assert.ok(!(await readFile(audit, 'utf8')).includes('alice'), 'a refused claim is not recorded as a user');
  });

  it('the same headers where 127.0.0.1 is a proxy: accepted as user:alice (what it may launch is for its roles to say)', async () => {
    const answer = refused(await ask(ports[1]!, ['X-Forwarded-User: alice', 'X-Forwarded-Groups: eng'], '127.0.0.1', SESSION));
    assert.deepEqual([answer.status, answer.code], [403, 'SCOPE_MISSING']);
    assert.ok(answer.message.includes('user:alice'), answer.message);
  });

  it('forwarded then bearer: no user and no token is the first provider\'s 401 with bearer\'s challenge; a token opens a session', async () => {
    assert.deepEqual(refused(await ask(ports[1]!, [], '127.0.0.1', SESSION)), {
      status: 401, challenge: 'Bearer realm="mcpd"', code: 'USER_INVALID', message: 'socket.listen[1].auth[0] (forwarded): the proxy sent no X-Forwarded-User header',
    });
    const token = (await s.cli(['token', 'create', 'box', '--scope', 'launch:mini'])).stdout.trim();
    const session = await MiniSession.at(`ws://127.0.0.1:${ports[1]}${SESSION}`, token);
    await session.initialize();
    assert.deepEqual((await session.request('ping')).result, {});
    await session.close();
  });

  it('none: anonymous, accepted without credentials (what it may launch is for its roles to say)', async () => {
    const answer = refused(await ask(ports[2]!, [], '127.0.0.1', SESSION));
    assert.deepEqual([answer.status, answer.code], [403, 'SCOPE_MISSING']);
    assert.ok(answer.message.includes('anonymous'), answer.message);
  });

  it('the default chain (bearer): 401 with WWW-Authenticate, error="invalid_token" for a token refused', async () => {
    assert.deepEqual(refused(await ask(ports[3]!, [], '127.0.0.1', SESSION)), {
      status: 401, challenge: 'Bearer realm="mcpd"', code: 'TOKEN_REQUIRED', message: `${SESSION} needs a client token on this listener`,
    });
    assert.deepEqual(refused(await ask(ports[3]!, ['Authorization: Bearer mcpd_never-issued'], '127.0.0.1', SESSION)), {
      status: 401, challenge: 'Bearer realm="mcpd", error="invalid_token"', code: 'TOKEN_INVALID', message: 'the token presented is not one mcpd issued (unknown token)',
    });
  });

  it('none on a listener beyond loopback: refused at load by config check and by the running daemon, which keeps its listeners', async () => {
    const bad = structuredClone(config);
    bad.socket.listen[2] = { host: '0.0.0.0', port: 0, tls: { cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' }, auth: [{ type: 'none', roles: ['reader'] }] } as (typeof bad.socket.listen)[number];
    await s.writeConfig(bad);
    const message = 'socket.listen[2].auth[0]: "none" admits every request without credentials, which only a TCP listener on a loopback host (127.0.0.1, ::1, localhost) may do; this is a TCP listener on "0.0.0.0", which is not a loopback address';
    const check = await s.cli(['config', 'check']);
    assert.equal(check.exitCode, 2, check.stderr);
    assert.ok(check.stderr.includes(message), check.stderr);
    const reload = await s.cli(['reload']);
    assert.equal(reload.exitCode, 2, reload.stderr);
    assert.ok(reload.stderr.includes(message), reload.stderr);
    const status = JSON.parse((await s.cli(['status', '--json'])).stdout) as { configError: string; listeners: string[] };
    assert.ok(status.configError.includes(message), status.configError);
    assert.deepEqual(status.listeners.map((l) => Number(/:(\d+)$/.exec(l)![1])), ports, 'the listeners of the last good config go on');
    assert.equal(refused(await ask(ports[2]!, [], '127.0.0.1', SESSION)).code, 'SCOPE_MISSING');
  });
});
