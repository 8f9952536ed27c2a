/**
 * Client tokens against a real daemon: a token gets exactly its scopes (403 naming the missing
 * one), unknown, expired and revoked tokens get 401, a revoked token's open session closes,
 * and only SHA-256s are kept. server-everything is the real one; `github` is never started.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { readFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { fixture } from '../../helpers/repo.js';
import { type Sandbox, sandbox } from '../../helpers/sandbox.js';
import { MiniSession, rawRequest, startDaemon } from '../../helpers/daemon.js';

const everything = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');
const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };
const pastToken = 'mcpd_expired-config-token-for-the-test';
const kioskToken = 'mcpd_roles-only-config-token-for-the-test';

/** One control request with a token; the JSON-RPC answer. */
async function controlCall(socket: string, token: string, method: string): Promise<{ result?: unknown; error?: { message: string; data?: { code?: string } } }> {
  const ws = new WebSocket(`ws+unix://${socket}:/v1/control`, { headers: { authorization: `Bearer ${token}` } });
  await once(ws, 'open');
  ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method, params: {} }));
  const [data] = (await once(ws, 'message')) as [Buffer];
  ws.close();
  return JSON.parse(data.toString()) as Awaited<ReturnType<typeof controlCall>>;
}

describe('client tokens and scopes', () => {
  let s: Sandbox;
  let socket: string;
  let token: string;
  before(async () => {
    s = await sandbox();
    socket = s.env.MCPD_SOCKET!;
    await s.writeConfig({
      mcpServers: { everything: { command: process.execPath, args: [everything, 'stdio'] }, github: mini },
      clients: {
        old: { tokenSha256: createHash('sha256').update(pastToken).digest('hex'), scopes: ['launch:*'], expires: '2020-01-01T00:00:00Z' },
        kiosk: { tokenSha256: createHash('sha256').update(kioskToken).digest('hex'), roles: ['reader'] },
      },
      roles: { reader: { grants: [{ server: 'everything', access: 'read' }] }, writer: { grants: [{ server: 'everything' }] } },
    });
    await startDaemon(s);
    const created = await s.cli(['token', 'create', 'ide', '--scope', 'launch:everything', '--expires', '30d']);
    assert.equal(created.exitCode, 0, created.stderr);
    token = created.stdout.trim();
    assert.match(token, /^mcpd_[A-Za-z0-9_-]{43}$/);
    assert.match(created.stderr, /created token "ide" with launch:everything, expires \d{4}-.*; it is shown only this once/);
  });
  after(() => s.cleanup());

  it('keeps only the SHA-256, in a 0600 file; token ls shows names and scopes, never the token', async () => {
    const file = join(s.env.XDG_STATE_HOME!, 'mcpd', 'tokens.json');
    const text = await readFile(file, 'utf8');
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.ok(!text.includes(token), 'the token is not in the store');
    assert.ok(text.includes(createHash('sha256').update(token).digest('hex')), 'its SHA-256 is');
    const ls = await s.cli(['token', 'ls']);
    assert.equal(ls.exitCode, 0, ls.stderr);
    assert.match(ls.stdout, /^NAME +SCOPES +ROLES +CREATED +EXPIRES +LAST USED +STATE\n/);
    assert.match(ls.stdout, /\nide +launch:everything +- +\d{4}-\d\d-\d\d \d\d:\d\d +\d{4}-.* active\n/);
    assert.match(ls.stdout, /\nold +launch:\* .* expired\n/);
    assert.ok(!ls.stdout.includes(token) && !(await s.cli(['token', 'ls', '--json'])).stdout.includes(token));
    const again = await s.cli(['token', 'create', 'ide', '--scope', 'admin']);
    assert.equal(again.exitCode, 2);
    assert.match(again.stderr, /mcpd: a token named "ide" exists already\n {2}hint: revoke it first/);
    const bad = await s.cli(['token', 'create', 'x', '--scope', 'launch-everything']);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /mcpd: unknown scope "launch-everything"; known scopes: launch:NAME, launch:\*, status:read, logs:read, rotate, admin/);
  });

  it('a token with roles and no scopes is valid: --role is repeatable, each must be a role of the config, token ls shows them', async () => {
    const created = await s.cli(['token', 'create', 'viewer', '--role', 'reader', '--role', 'writer']);
    assert.equal(created.exitCode, 0, created.stderr);
    assert.match(created.stderr, /^mcpd: created token "viewer" with role reader, role writer, no expiry; it is shown only this once\n$/);
    const viewer = created.stdout.trim();
    const mixed = await s.cli(['token', 'create', 'mixed', '--scope', 'status:read', '--role', 'reader', '--json']);
    assert.deepEqual((JSON.parse(mixed.stdout) as { scopes: string[]; roles: string[] }).roles, ['reader']);
    const ls = (await s.cli(['token', 'ls'])).stdout;
    assert.match(ls, /\nviewer +- +reader,writer +\d{4}-.* active\n/);
    assert.match(ls, /\nmixed +status:read +reader +\d{4}-.* active\n/);
    assert.match(ls, /\nkiosk +- +reader +.* active \(config\)\n/);
    const text = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'tokens.json'), 'utf8');
    assert.ok(!text.includes(viewer) && text.includes('"reader"'), 'the store keeps the roles, not the token');

    const unknown = await s.cli(['token', 'create', 'x', '--role', 'ghost']);
    assert.equal(unknown.exitCode, 2);
    assert.equal(unknown.stderr, 'mcpd: no role named "ghost" in the daemon\'s config; known roles: reader, writer\n  hint: define it under "roles" in the config (README "Roles"), or give one of the known roles\n');
    const neither = await s.cli(['token', 'create', 'x']);
    assert.equal(neither.exitCode, 2);
    assert.match(neither.stderr, /^mcpd: a token needs at least one scope or role\n {2}hint: add --scope or --role/);

    // Accepted (the 403 names the token), not refused as a credential (401): what it may launch is its roles' to say, and none grants github.
    for (const [name, presented] of [['viewer', viewer], ['kiosk', kioskToken]] as const) {
      const answer = await rawRequest(socket, '/v1/session/github', true, { authorization: `Bearer ${presented}` });
      assert.equal(answer.status, 403, name);
      assert.equal(answer.body.error.code, 'SCOPE_MISSING', name);
      assert.ok(answer.body.error.message.includes(name), answer.body.error.message);
    }
  });

  it('launch:everything opens a session to everything, and gets 403 for github and for admin control verbs', async () => {
    const session = await MiniSession.open(socket, 'everything', token);
    await session.initialize();
    const { result } = await session.request('tools/list');
    assert.ok((result!.tools as Array<{ name: string }>).some((t) => t.name === 'echo'));
    await session.close();

    const github = await rawRequest(socket, '/v1/session/github', true, { authorization: `Bearer ${token}` });
    assert.equal(github.status, 403);
    assert.equal(github.body.error.code, 'SCOPE_MISSING');
    assert.equal(github.body.error.message, 'token "ide" lacks the scope launch:github needed for a session to "github"');
    for (const method of ['daemon.stop', 'server.restart', 'server.stop', 'token.create', 'status', 'events.subscribe']) {
      const answer = await controlCall(socket, token, method);
      assert.equal(answer.error?.data?.code, 'SCOPE_MISSING', method);
      assert.match(answer.error.message, new RegExp(`token "ide" lacks the scope (admin|status:read) needed for the control method ${method.replace('.', '\\.')}`));
    }
    const status = await s.cli(['status'], { env: { MCPD_TOKEN: token } });
    assert.equal(status.exitCode, 5);
    assert.match(status.stderr, /mcpd: token "ide" lacks the scope status:read needed for the control method status\n {2}hint: create a token with --scope status:read/);
    assert.equal((await s.cli(['status'])).exitCode, 0, 'the daemon still runs, and the owner needs no token');
  });

  it('unknown and expired tokens get 401', async () => {
    const unknown = await rawRequest(socket, '/v1/session/everything', true, { authorization: 'Bearer mcpd_not-a-token-mcpd-issued' });
    assert.equal(unknown.status, 401);
    assert.equal(unknown.body.error.code, 'TOKEN_INVALID');
    assert.match(unknown.body.error.message, /the token presented is not one mcpd issued \(unknown token\)/);
    const expired = await rawRequest(socket, '/v1/control', true, { authorization: `Bearer ${pastToken}` });
    assert.equal(expired.status, 401);
    assert.equal(expired.body.error.message, 'token "old" expired at 2020-01-01T00:00:00Z');
  });

  it('a revoked token gets 401, and its open session and log follower are closed', { timeout: 30_000 }, async () => {
    const created = await s.cli(['token', 'create', 'doomed', '--scope', 'launch:*', '--scope', 'status:read', '--scope', 'logs:read']);
    const doomed = created.stdout.trim();
    const session = await MiniSession.open(socket, 'github', doomed);
    await session.initialize();
    // `mcpd logs github -f` with that token: a control connection that stays open.
    const follower = new WebSocket(`ws+unix://${socket}:/v1/control`, { headers: { authorization: `Bearer ${doomed}` } });
    await once(follower, 'open');
    follower.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'logs.tail', params: { name: 'github', follow: true } }));
    await once(follower, 'message');
    const followerClosed = once(follower, 'close') as Promise<[number, Buffer]>;
    const owners = await MiniSession.open(socket, 'github');
    await owners.initialize();
    const revoked = await s.cli(['token', 'revoke', 'doomed']);
    assert.equal(revoked.exitCode, 0, revoked.stderr);
    assert.equal(revoked.stdout, 'revoked token "doomed"; closed 1 open session\n');
    const [code, reason] = await session.closed;
    assert.equal(code, 1008);
    assert.match(reason, /client token was revoked/);
    const [followerCode, followerReason] = await followerClosed;
    assert.equal(followerCode, 1008);
    assert.equal(followerReason.toString(), 'the connection\'s client token was revoked or has expired');
    assert.deepEqual((await owners.request('ping')).result, {}, 'the owner\'s session goes on');
    await owners.close();
    const refused = await rawRequest(socket, '/v1/session/github', true, { authorization: `Bearer ${doomed}` });
    assert.equal(refused.status, 401);
    assert.match(refused.body.error.message, /^token "doomed" was revoked at \d{4}-/);
    assert.equal((await s.cli(['status'], { env: { MCPD_TOKEN: doomed } })).exitCode, 5);
    const ls = (await s.cli(['token', 'ls'])).stdout;
    assert.match(ls, /\ndoomed .* revoked\n/);
    assert.equal((await s.cli(['token', 'revoke', 'doomed'])).exitCode, 2, 'revoking twice says there is no active token');
  });
});
