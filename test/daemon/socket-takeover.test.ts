/**
 * Issue 12, item 2, with two real users: another user (nobody) makes the socket folder first
 * and listens there with a fake daemon that records every connection and header it gets. The
 * CLI, the client module and the daemon, run as this user, refuse that path naming the folder
 * and its owner, and the fake daemon never gets a connection, let alone the token. Without
 * XDG_RUNTIME_DIR the socket is in the user's state folder, so the temp-folder path the fake
 * daemon also listens on (the old fallback) is never used.
 */
import assert from 'node:assert/strict';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execa, type ResultPromise } from 'execa';
import { mcpdTransport } from '../../client/index.js';
import { McpdError } from '../../core/errors.js';
import { cliMain, fixture } from '../helpers/repo.js';
import { type Sandbox, sandbox } from '../helpers/sandbox.js';

const notRoot = process.getuid?.() === 0 ? undefined : 'needs root, to run a fake daemon as another user (runuser -u nobody)';
const TOKEN = 'mcpd_takeover_token_8c1f0e2d';
const mini = { command: process.execPath, args: [fixture('mini-mcp.js')] };

/**
 * The fake daemon, run as nobody: makes its own folder in the temp folder, listens on
 * DIR/mcpd/mcpd.sock (where $XDG_RUNTIME_DIR=DIR points) and DIR/mcpd-0/mcpd/mcpd.sock (the old
 * fallback with $TMPDIR=DIR), prints DIR, then one JSON line per connection and request.
 */
const FAKE = `
const fs = require('fs'), http = require('http'), path = require('path');
const dir = fs.mkdtempSync('/tmp/mcpd-takeover-');
fs.chmodSync(dir, 0o755);
const paths = [path.join(dir, 'mcpd', 'mcpd.sock'), path.join(dir, 'mcpd-0', 'mcpd', 'mcpd.sock')];
let left = paths.length;
for (const p of paths) {
  fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o755 });
  const server = http.createServer((req, res) => { console.log(JSON.stringify({ request: req.url, headers: req.headers })); res.end('{}'); });
  server.on('connection', () => console.log(JSON.stringify({ connection: p })));
  server.on('upgrade', (req, socket) => { console.log(JSON.stringify({ upgrade: req.url, headers: req.headers })); socket.end(); });
  server.listen(p, () => { fs.chmodSync(p, 0o777); if (--left === 0) console.log(dir); });
}
`;

describe('a socket path another user prepared', { skip: notRoot }, () => {
  let s: Sandbox;
  let fake: ResultPromise<{ reject: false; buffer: true }>;
  let dir: string;
  let socket: string;
  let output = '';
  before(async () => {
    s = await sandbox();
    await s.writeConfig({ mcpServers: { mini } });
    fake = execa('runuser', ['-u', 'nobody', '--', process.execPath, '-e', FAKE], { reject: false, buffer: true });
    fake.stdout.setEncoding('utf8').on('data', (chunk: string) => { output += chunk; });
    dir = await new Promise<string>((resolve, reject) => {
      fake.stdout.on('data', () => {
        const line = output.split('\n').find((l) => l.startsWith('/tmp/'));
        if (line) resolve(line);
      });
      void fake.then((result) => reject(new Error(`the fake daemon exited: ${result.stderr}`)));
    });
    socket = join(dir, 'mcpd', 'mcpd.sock');
  });
  after(async () => {
    fake.kill();
    await fake;
    if (dir) await rm(dir, { recursive: true, force: true });
    await s.cleanup();
  });

  /** The environment of a login without MCPD_SOCKET, where XDG_RUNTIME_DIR is `runtime` (or unset). */
  function env(runtime: string | undefined): Record<string, string> {
    const { MCPD_SOCKET: _, ...rest } = s.env;
    return { ...rest, TMPDIR: dir, ...(runtime ? { XDG_RUNTIME_DIR: runtime, MCPD_TOKEN: TOKEN } : {}) };
  }

  function cli(args: string[], runtime: string | undefined, input = '') {
    return execa(process.execPath, [cliMain, ...args], { env: env(runtime), extendEnv: false, reject: false, input, timeout: 30_000 });
  }

  const refusal = (path: string) =>
    `mcpd: refusing the socket ${path}: the folder ${dir} is owned by uid 65534, not by this user (uid 0) or root\n` +
    '  hint: another user may be listening there to catch your token; point mcpd at a folder of yours ($XDG_RUNTIME_DIR, or --socket / $MCPD_SOCKET), ' +
    `or remove ${dir} if it is a leftover`;

  it('mcpd status and mcpd run: exit 2 naming the folder, its owner and the fix; the fake daemon gets no connection', async () => {
    for (const args of [['status'], ['run', 'mini'], ['run', '--no-autostart', 'mini']]) {
      const result = await cli(args, dir);
      assert.equal(result.exitCode, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.equal(result.stderr, refusal(socket), args.join(' '));
    }
    assert.equal(output.trim(), dir, 'the fake daemon printed nothing but its folder: no connection, no header');
  });

  it('the client module rejects with SOCKET_UNSAFE before connecting, token and all', async () => {
    await assert.rejects(mcpdTransport('mini', { socket, token: TOKEN, config: s.configPath }), (error: unknown) => {
      assert.ok(error instanceof McpdError);
      assert.equal(error.code, 'SOCKET_UNSAFE');
      assert.match(error.message, new RegExp(`^refusing the socket ${socket}: the folder ${dir} is owned by uid 65534`));
      return true;
    });
    assert.equal(output.trim(), dir);
    assert.doesNotMatch(output, new RegExp(TOKEN));
  });

  it('mcpd daemon refuses to bind there, and makes no folder in it', async () => {
    const path = join(dir, 'other', 'mcpd.sock');
    const result = await cli(['daemon', '--socket', path], dir);
    assert.equal(result.exitCode, 2, result.stderr);
    assert.equal(result.stderr, refusal(path));
    assert.deepEqual((await readdir(dir)).sort(), ['mcpd', 'mcpd-0']);
  });

  it('without XDG_RUNTIME_DIR: the socket is in the state folder, a daemon starts there; the temp-folder fallback is left alone', async () => {
    const ping = `${JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' })}\n`;
    const run = await cli(['run', 'mini'], undefined, ping);
    assert.equal(run.exitCode, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout), { jsonrpc: '2.0', id: 1, result: {} });
    const status = await cli(['status', '--json'], undefined);
    assert.equal(JSON.parse(status.stdout).socket, join(s.env.XDG_STATE_HOME!, 'mcpd', 'mcpd.sock'));
    assert.equal((await cli(['stop'], undefined)).exitCode, 0);
    assert.equal(output.trim(), dir, 'nothing connected to the old fallback in the temp folder');
  });
});
