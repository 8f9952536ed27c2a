/**
 * Extra listeners beside the owner-only socket (README "The daemon"): a socket shared
 * with a group (`{ path, group, mode }`) or a loopback TCP port for containers (`{ host, port }`).
 * Each serves the same routes, and judges every request by its own `auth` chain (a client token by default).
 */
import { chmod, lchown, lstat, readFile, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpdError } from '../../core/errors.js';
import { checkSocketPath } from '../../core/socket-trust.js';
import type { ListenSpec } from '../config/schema.js';
import { answers } from '../../core/socket-probe.js';

/** Listens on `spec`; returns how status names it (`unix:PATH` or `tcp:HOST:PORT`). */
export async function listenExtra(server: Server, spec: ListenSpec, index: number): Promise<string> {
  const where = `socket.listen[${index}]`;
  try {
    if ('port' in spec) {
      await listening(server, () => server.listen(spec.port, spec.host));
      const address = server.address() as AddressInfo;
      return `tcp:${spec.host}:${address.port}`;
    }
    await listenShared(server, spec, where);
    return `unix:${spec.path}`;
  } catch (error) {
    if (error instanceof McpdError) throw error;
    throw new McpdError('USAGE', `${where}: cannot listen there: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { hint: 'fix or remove that entry of socket.listen', cause: error });
  }
}

/**
 * A socket shared with a group. Its folder must be one no other user can change (a planted link
 * would otherwise turn the unlink, chown and chmod below onto another file); the socket is born
 * 0600 under a tight umask, checked with lstat, then given its group (lchown) and its mode.
 */
async function listenShared(server: Server, spec: Extract<ListenSpec, { path: string }>, where: string): Promise<void> {
  const group = spec.group === undefined ? undefined : await gid(spec.group, where);
  const { exists } = await checkSocketPath(spec.path).catch((error: unknown) => {
    throw error instanceof McpdError ? new McpdError(error.code, `${where}: ${error.message}`, { hint: 'put it in a folder only you (or root) can write, or fix or remove that entry of socket.listen' }) : error;
  });
  if (exists) {
    if (!(await lstat(spec.path)).isSocket()) throw new McpdError('USAGE', `${where}: ${spec.path} is not a socket`, { hint: 'remove it, or choose another path' });
    if (await answers(spec.path)) throw new McpdError('DAEMON_RUNNING', `${where}: something already answers on ${spec.path}`, { hint: 'stop it, or choose another path' });
    await unlink(spec.path);
  }
  await listening(server, () => {
    // bind() makes the file synchronously within listen(): the umask is ours for no longer than that.
    const umask = process.umask(0o177);
    try {
      server.listen(spec.path);
    } finally {
      process.umask(umask);
    }
  });
  const made = await lstat(spec.path);
  if (!made.isSocket() || (process.getuid && made.uid !== process.getuid())) throw new McpdError('USAGE', `${where}: ${spec.path} changed while it was being bound`, { hint: 'make sure no one else can write its folder' });
  if (group !== undefined) await lchown(spec.path, -1, group);
  await chmod(spec.path, parseInt(spec.mode, 8));
}

function listening(server: Server, start: () => void): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('listening', () => {
      server.off('error', reject);
      resolve();
    });
    start();
  });
}

/** A group's id from its name (/etc/group) or number. */
async function gid(group: string | number, where: string): Promise<number> {
  if (typeof group === 'number') return group;
  const line = (await readFile('/etc/group', 'utf8')).split('\n').find((l) => l.split(':')[0] === group);
  const id = Number(line?.split(':')[2]);
  if (!line || !Number.isInteger(id)) throw new McpdError('USAGE', `${where}.group: no group named "${group}"`, { hint: 'give an existing group name or its number' });
  return id;
}
