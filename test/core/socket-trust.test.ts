/**
 * core/socket-trust.ts on real folders: each way another user could have a hand in a socket
 * path (their folder, a folder others can write, their socket, a link) is refused with a
 * message naming the path, what is wrong with it and the fix; the usual layouts pass.
 * Folders and sockets of another user are made with chown, so these cases need root.
 */
import assert from 'node:assert/strict';
import { chmod, chown, lchown, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import { socketPath, stateDir } from '../../core/paths.js';
import { checkSocketPath } from '../../core/socket-trust.js';

const NOBODY = 65534;
const notRoot = process.getuid?.() === 0 ? undefined : 'needs root, to give folders and sockets to another user (nobody)';
const me = process.getuid?.() ?? 0;

function refused(expected: { message: string; hint?: RegExp }) {
  return (error: unknown) => {
    assert.ok(error instanceof McpdError, String(error));
    assert.equal(error.code, 'SOCKET_UNSAFE');
    assert.equal(error.message, expected.message);
    if (expected.hint) assert.match(error.hint ?? '', expected.hint);
    return true;
  };
}

function listenOn(path: string): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(path, () => resolve(server));
  });
}

describe('socket path trust', { skip: notRoot }, () => {
  let dir: string;
  const servers: Server[] = [];
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-trust-'));
  });
  after(async () => {
    for (const server of servers) server.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('a private folder of ours under the sticky /tmp: trusted; exists says whether the socket is there', async () => {
    const socket = join(dir, 'ok', 'mcpd.sock');
    assert.deepEqual(await checkSocketPath(socket), { exists: false }, 'its folder is not there yet');
    await mkdir(join(dir, 'ok'), { mode: 0o700 });
    assert.deepEqual(await checkSocketPath(socket), { exists: false });
    servers.push(await listenOn(socket));
    assert.deepEqual(await checkSocketPath(socket), { exists: true });
  });

  it('a folder of another user on the way: refused, naming the folder and its owner', async () => {
    const theirs = join(dir, 'theirs');
    await mkdir(join(theirs, 'mcpd'), { recursive: true, mode: 0o755 });
    await chown(theirs, NOBODY, NOBODY);
    const socket = join(theirs, 'mcpd', 'mcpd.sock');
    await assert.rejects(checkSocketPath(socket), refused({
      message: `refusing the socket ${socket}: the folder ${theirs} is owned by uid ${NOBODY}, not by this user (uid ${me}) or root`,
      hint: /another user may be listening there to catch your token; point mcpd at a folder of yours \(\$XDG_RUNTIME_DIR, or --socket/,
    }));
    // Even before anything is in it: the client would make its folder there.
    await assert.rejects(checkSocketPath(join(theirs, 'not-yet', 'mcpd.sock')), refused({ message: `refusing the socket ${join(theirs, 'not-yet', 'mcpd.sock')}: the folder ${theirs} is owned by uid ${NOBODY}, not by this user (uid ${me}) or root` }));
  });

  it('the socket\'s own folder writable by others or its group, even sticky: refused with its mode and the chmod', async () => {
    for (const [name, mode, who] of [['open', 0o777, 'others'], ['group', 0o770, 'its group'], ['sticky', 0o1777, 'others']] as const) {
      const folder = join(dir, name);
      await mkdir(folder);
      await chmod(folder, mode);
      const socket = join(folder, 'mcpd.sock');
      await assert.rejects(checkSocketPath(socket), refused({
        message: `refusing the socket ${socket}: the folder ${folder} is writable by ${who} (mode ${mode.toString(8).padStart(4, '0')})`,
        hint: new RegExp(`^chmod go-w ${folder}, or choose a socket`),
      }));
    }
  });

  it('a sticky folder others can write is fine above a private folder of ours, not without the sticky bit', async () => {
    const sticky = join(dir, 'sticky-above');
    await mkdir(join(sticky, 'mine'), { recursive: true, mode: 0o700 });
    await chmod(sticky, 0o1777);
    assert.deepEqual(await checkSocketPath(join(sticky, 'mine', 'mcpd.sock')), { exists: false });
    await chmod(sticky, 0o777);
    await assert.rejects(checkSocketPath(join(sticky, 'mine', 'mcpd.sock')), refused({ message: `refusing the socket ${join(sticky, 'mine', 'mcpd.sock')}: the folder ${sticky} is writable by others (mode 0777)` }));
  });

  it('a socket of another user in our folder, or a link at the socket path: refused', async () => {
    const folder = join(dir, 'sockets');
    await mkdir(folder, { mode: 0o700 });
    const theirs = join(folder, 'theirs.sock');
    servers.push(await listenOn(theirs));
    await chown(theirs, NOBODY, NOBODY);
    await assert.rejects(checkSocketPath(theirs), refused({ message: `refusing the socket ${theirs}: it is owned by uid ${NOBODY}, not by this user (uid ${me})`, hint: /remove .*theirs\.sock if it is a leftover/ }));
    const link = join(folder, 'link.sock');
    await symlink(join(dir, 'ok', 'mcpd.sock'), link);
    await assert.rejects(checkSocketPath(link), refused({ message: `refusing the socket ${link}: it is a symbolic link`, hint: /^remove / }));
  });

  it('a link on the way: judged by its owner, and the folders it leads to are checked too', async () => {
    const links = join(dir, 'links');
    await mkdir(links, { mode: 0o700 });
    await symlink(join(dir, 'ok'), join(links, 'to-ok'));
    assert.deepEqual(await checkSocketPath(join(links, 'to-ok', 'mcpd.sock')), { exists: true });

    await lchown(join(links, 'to-ok'), NOBODY, NOBODY);
    await assert.rejects(checkSocketPath(join(links, 'to-ok', 'mcpd.sock')), refused({ message: `refusing the socket ${join(links, 'to-ok', 'mcpd.sock')}: the folder ${join(links, 'to-ok')} is owned by uid ${NOBODY}, not by this user (uid ${me}) or root` }));

    await symlink(join(dir, 'open'), join(links, 'to-open'));
    await assert.rejects(checkSocketPath(join(links, 'to-open', 'mcpd.sock')), refused({ message: `refusing the socket ${join(links, 'to-open', 'mcpd.sock')}: the folder ${join(dir, 'open')} is writable by others (mode 0777)` }));
  });

  it('a file where a folder should be: refused, naming it', async () => {
    await writeFile(join(dir, 'file'), '');
    await assert.rejects(checkSocketPath(join(dir, 'file', 'mcpd.sock')), refused({ message: `refusing the socket ${join(dir, 'file', 'mcpd.sock')}: ${join(dir, 'file')} is not a folder` }));
  });
});

describe('socket path length and the default path', () => {
  it('a path longer than a Unix socket address holds: a usage error that says what to set', async () => {
    const long = `/tmp/${'x'.repeat(120)}/mcpd.sock`;
    await assert.rejects(checkSocketPath(long), (error: unknown) => {
      assert.ok(error instanceof McpdError);
      assert.equal(error.code, 'USAGE');
      assert.equal(error.message, `the socket path ${long} is ${long.length} bytes; Unix sockets allow 107`);
      assert.match(error.hint ?? '', /--socket or \$MCPD_SOCKET \(or set \$XDG_RUNTIME_DIR/);
      return true;
    });
  });

  it('without XDG_RUNTIME_DIR the socket is in the user\'s state folder, never in the temp folder', { skip: process.platform === 'darwin' ? 'macOS has its own per-user path' : undefined }, () => {
    const env = { HOME: '/home/u', TMPDIR: '/tmp' };
    assert.equal(socketPath(env), '/home/u/.local/state/mcpd/mcpd.sock');
    assert.equal(socketPath(env), join(stateDir(env), 'mcpd.sock'));
    assert.equal(socketPath({ ...env, XDG_STATE_HOME: '/s' }), '/s/mcpd/mcpd.sock');
    assert.equal(socketPath({ ...env, XDG_RUNTIME_DIR: 'relative' }), '/home/u/.local/state/mcpd/mcpd.sock', 'a relative XDG_RUNTIME_DIR is ignored, as the spec says');
    assert.equal(socketPath({ ...env, XDG_RUNTIME_DIR: '/run/user/1000' }), '/run/user/1000/mcpd/mcpd.sock');
    assert.equal(socketPath({ ...env, MCPD_SOCKET: '/x.sock' }, '/flag.sock'), '/flag.sock');
  });
});
