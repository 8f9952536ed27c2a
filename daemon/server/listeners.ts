/**
 * Extra listeners beside the owner-only socket (DESIGN.md "Daemon and socket"): a socket shared
 * with a group (`{ path, group, mode }`) or a loopback TCP port for containers (`{ host, port }`).
 * Each serves the same routes, and every connection on one must present a token.
 */
import { chmod, chown, readFile, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpdError } from '../../core/errors.js';
import type { ListenSpec } from '../config/schema.js';
import { answers } from './listen.js';

/** Listens on `spec`; returns how status names it (`unix:PATH` or `tcp:HOST:PORT`). */
export async function listenExtra(server: Server, spec: ListenSpec, index: number): Promise<string> {
  const where = `socket.listen[${index}]`;
  try {
    if ('port' in spec) {
      await listening(server, () => server.listen(spec.port, spec.host));
      const address = server.address() as AddressInfo;
      return `tcp:${spec.host}:${address.port}`;
    }
    if (await answers(spec.path)) throw new McpdError('DAEMON_RUNNING', `${where}: something already answers on ${spec.path}`, { hint: 'stop it, or choose another path' });
    await unlink(spec.path).catch(() => {});
    await listening(server, () => server.listen(spec.path));
    if (spec.group !== undefined) await chown(spec.path, -1, await gid(spec.group, where));
    await chmod(spec.path, parseInt(spec.mode, 8));
    return `unix:${spec.path}`;
  } catch (error) {
    if (error instanceof McpdError) throw error;
    throw new McpdError('USAGE', `${where}: cannot listen there: ${(error as NodeJS.ErrnoException).code ?? String(error)}`, { hint: 'fix or remove that entry of socket.listen', cause: error });
  }
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
