/**
 * daemon.maxSessionsPerToken on a real daemon: a client token's session beyond the cap is
 * refused before the upgrade (429, SESSION_LIMIT, naming the token and the setting; mcpd run
 * exits 5), other tokens and the owner are not held to it, and a closed session frees its place.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';
import { MiniSession, rawRequest, startDaemon, waitFor } from '../helpers/daemon.js';

const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };

describe('the per-token session cap', () => {
  let s: Sandbox;
  let socket: string;
  let ci: string;
  const open: MiniSession[] = [];
  const sessions = async () => (JSON.parse((await s.cli(['sessions', '--json'])).stdout) as unknown[]).length;
  before(async () => {
    s = await sandbox();
    socket = s.env.MCPD_SOCKET!;
    await s.writeConfig({ mcpServers: { mini }, daemon: { maxSessionsPerToken: 2 } });
    await startDaemon(s);
    ci = (await s.cli(['token', 'create', 'ci', '--scope', 'launch:mini'])).stdout.trim();
  });
  after(async () => {
    await Promise.all(open.map((session) => session.close()));
    await s.cleanup();
  });

  it('refuses the token\'s third session with 429 naming the token and the setting; mcpd run exits 5', async () => {
    for (let i = 0; i < 2; i++) open.push(await MiniSession.open(socket, 'mini', ci));
    const refused = await rawRequest(socket, '/v1/session/mini', true, { authorization: `Bearer ${ci}` });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'SESSION_LIMIT');
    assert.equal(refused.body.error.message, 'client token "ci" holds 2 open sessions, the most daemon.maxSessionsPerToken (2) allows');
    assert.equal(refused.body.error.hint, `close one of its sessions (mcpd sessions lists them), or raise daemon.maxSessionsPerToken in ${s.configPath}`);
    const run = await s.cli(['run', 'mini'], { env: { MCPD_TOKEN: ci } });
    assert.equal(run.exitCode, 5);
    assert.match(run.stderr, /^mcpd: client token "ci" holds 2 open sessions, the most daemon\.maxSessionsPerToken \(2\) allows\n {2}hint: close one of its sessions/);
    assert.equal(await sessions(), 2, 'no process was started for the refused ones');
    const log = await readFile(join(s.env.XDG_STATE_HOME!, 'mcpd', 'daemon.log'), 'utf8');
    assert.match(log, /"event":"connection\.refused","listener":"unix:[^"]+","peer":"unix","url":"\/v1\/session\/mini","status":429,"code":"SESSION_LIMIT"/);
    assert.ok(!log.includes(ci), 'the log holds no token');
  });

  it('another token and the owner are not held to the first token\'s sessions', async () => {
    const other = (await s.cli(['token', 'create', 'other', '--scope', 'launch:mini'])).stdout.trim();
    open.push(await MiniSession.open(socket, 'mini', other));
    for (let i = 0; i < 3; i++) open.push(await MiniSession.open(socket, 'mini'));
    assert.equal(await sessions(), 6);
  });

  it('a session of the token that closes frees its place', async () => {
    await open.shift()!.close();
    await waitFor(async () => (await sessions()) === 5, 'the session to close');
    const again = await MiniSession.open(socket, 'mini', ci);
    open.push(again);
    await again.initialize();
    assert.deepEqual((await again.request('ping')).result, {});
    assert.equal((await rawRequest(socket, '/v1/session/mini', true, { authorization: `Bearer ${ci}` })).status, 429, 'and the cap holds again');
  });

  it('a reload that raises the cap applies to the next session', async () => {
    await s.writeConfig({ mcpServers: { mini }, daemon: { maxSessionsPerToken: 3 } });
    await waitFor(async () => {
      const session = await MiniSession.open(socket, 'mini', ci).catch(() => undefined);
      if (session) open.push(session);
      return session !== undefined;
    }, 'the reload to raise the cap');
  });
});
