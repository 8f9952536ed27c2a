/**
 * ExtraListeners on real sockets: what a reload keeps, binds and closes, one update at a time;
 * a group socket's folder, links and files planted where it goes.
 */
import assert from 'node:assert/strict';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type AddressInfo } from 'node:net';
import { chmod, link, lstat, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ExtraListeners } from '../../../daemon/server/extra-listeners.js';

const answers = (port: number) => new Promise<boolean>((resolve) => {
  const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); }).on('error', () => resolve(false));
});

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const BEARER = [{ type: 'bearer' as const }];
const portOf = (name: string) => Number(/:(\d+)$/.exec(name)![1]);

describe('extra listeners', () => {
  const listeners = new ExtraListeners(() => createHttpServer());
  after(() => listeners.close());

  it('an entry equal to a bound one keeps it; a new one is bound; a removed one stops listening', async () => {
    assert.deepEqual(await listeners.update([{ host: '127.0.0.1', port: 0, auth: BEARER }]), []);
    const [first] = listeners.names;
    const extra = await freePort();
    assert.deepEqual(await listeners.update([{ host: '127.0.0.1', port: 0, auth: BEARER }, { host: '127.0.0.1', port: extra, auth: BEARER }]), []);
    assert.deepEqual(listeners.names, [first, `tcp:127.0.0.1:${extra}`], 'port 0 kept its port: not bound afresh');
    await listeners.update([{ host: '127.0.0.1', port: extra, auth: BEARER }]);
    assert.deepEqual(listeners.names, [`tcp:127.0.0.1:${extra}`]);
    assert.equal(await answers(portOf(first!)), false, 'the removed listener is closed');
    assert.equal(await answers(extra), true);
    await listeners.update([]);
    assert.equal(await answers(extra), false);
  });

  it('two updates at once are taken one after the other: the second keeps what the first bound', async () => {
    const port = await freePort();
    const spec = [{ host: '127.0.0.1', port, auth: BEARER }];
    const results = await Promise.all([listeners.update(spec), listeners.update(spec)]);
    assert.deepEqual(results, [[], []], 'neither met EADDRINUSE');
    assert.deepEqual(listeners.names, [`tcp:127.0.0.1:${port}`]);
    await listeners.update([]);
  });

  it('an entry that cannot be bound is reported by its index, and the others are bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as AddressInfo).port;
    try {
      const failures = await listeners.update([{ host: '127.0.0.1', port: 0, auth: BEARER }, { host: '127.0.0.1', port: busy, auth: BEARER }]);
      assert.deepEqual(failures.map((f) => [f.code, f.message, f.hint]), [['USAGE', 'socket.listen[1]: cannot listen there: EADDRINUSE', 'fix or remove that entry of socket.listen']]);
      assert.deepEqual(listeners.failures, ['socket.listen[1]: cannot listen there: EADDRINUSE']);
      assert.equal(listeners.names.length, 1);
    } finally {
      taken.close();
    }
    assert.deepEqual(await listeners.update([]), []);
    assert.deepEqual(listeners.failures, [], 'a later update clears what no longer fails');
  });

  it('start: the first failure is thrown and nothing stays bound', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = (taken.address() as AddressInfo).port;
    const starting = new ExtraListeners(() => createHttpServer());
    const port = await freePort();
    try {
      await assert.rejects(starting.start([{ host: '127.0.0.1', port, auth: BEARER }, { host: '127.0.0.1', port: busy, auth: BEARER }]), {
        code: 'USAGE', message: 'socket.listen[1]: cannot listen there: EADDRINUSE',
      });
      assert.deepEqual(starting.names, []);
      assert.equal(await answers(port), false, 'the entry bound before the failure was closed');
    } finally {
      taken.close();
      await starting.close();
    }
  });
});

describe('a socket shared with a group', { skip: process.getuid?.() === 0 ? undefined : 'needs root, to give the socket to the nogroup group' }, () => {
  const listeners = new ExtraListeners(() => createHttpServer());
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-group-'));
  });
  after(async () => {
    await listeners.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('is bound with its group and mode, and a stale socket there is replaced', async () => {
    const path = join(dir, 'group.sock');
    // A stale socket, as a killed daemon leaves: a second name for a socket whose server is gone.
    const stale = createServer();
    await new Promise<void>((resolve) => stale.listen(`${path}.first`, resolve));
    await link(`${path}.first`, path);
    await new Promise((resolve) => stale.close(resolve));
    assert.deepEqual(await listeners.update([{ path, group: 'nogroup', mode: '660', auth: BEARER }]), []);
    const info = await lstat(path);
    assert.ok(info.isSocket());
    assert.equal(info.mode & 0o777, 0o660);
    assert.equal(info.gid, 65534);
    await listeners.update([]);
  });

  it('a link planted at the socket path: refused, and the file it points at is not removed, chowned or chmodded', async () => {
    const target = join(dir, 'precious');
    await writeFile(target, 'keep me', { mode: 0o600 });
    const path = join(dir, 'planted.sock');
    await symlink(target, path);
    const failures = await listeners.update([{ path, group: 'nogroup', mode: '666', auth: BEARER }]);
    assert.deepEqual(failures.map((f) => [f.code, f.message]), [['SOCKET_UNSAFE', `socket.listen[0]: refusing the socket ${path}: it is a symbolic link`]]);
    const after = await lstat(target);
    assert.deepEqual([after.mode & 0o777, after.uid, after.gid], [0o600, 0, 0]);
    assert.equal(await readFile(target, 'utf8'), 'keep me');
    assert.ok((await lstat(path)).isSymbolicLink(), 'the link itself is left for the user to look at');
  });

  it('a file that is not a socket is not removed; a folder others can write is refused', async () => {
    const file = join(dir, 'notes.sock');
    await writeFile(file, 'mine');
    assert.deepEqual((await listeners.update([{ path: file, mode: '660', auth: BEARER }])).map((f) => f.message), [`socket.listen[0]: ${file} is not a socket`]);
    assert.equal(await readFile(file, 'utf8'), 'mine');

    const open = join(dir, 'open');
    await mkdir(open);
    await chmod(open, 0o777);
    const path = join(open, 'group.sock');
    const failures = await listeners.update([{ path, group: 'nogroup', mode: '660', auth: BEARER }]);
    assert.deepEqual(failures.map((f) => [f.code, f.message]), [['SOCKET_UNSAFE', `socket.listen[0]: refusing the socket ${path}: the folder ${open} is writable by others (mode 0777)`]]);
    assert.equal(failures[0]!.hint, 'put it in a folder only you (or root) can write, or fix or remove that entry of socket.listen');
    await assert.rejects(lstat(path), { code: 'ENOENT' });
  });
});
