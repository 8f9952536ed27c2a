/**
 * Binding the daemon's socket: a 0700 folder of ours, the socket 0600, one daemon per socket.
 * Under systemd socket activation the listening fd is handed over instead (LISTEN_FDS).
 *
 * A socket file left by a killed daemon is stale: nothing answers on it. It is replaced only
 * after a connect attempt fails, and under a lock, so two daemons starting at once cannot both
 * decide the other's fresh socket is stale.
 */
import { chmod, lstat, mkdir, unlink } from 'node:fs/promises';
import type { Server } from 'node:http';
import { dirname } from 'node:path';
import { McpdError } from '../../core/errors.js';
import { answers } from '../../core/socket-probe.js';
import { checkSocketPath } from '../../core/socket-trust.js';

export type Binding = { kind: 'path'; path: string } | { kind: 'fd'; fd: number };

/** The fd systemd passed, when this process was socket-activated; the variables are then cleared so children do not see them. */
export function activationFd(env: NodeJS.ProcessEnv): number | undefined {
  const pid = Number(env.LISTEN_PID);
  const count = Number(env.LISTEN_FDS);
  if (pid !== process.pid || !(count >= 1)) return undefined;
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  return 3; // SD_LISTEN_FDS_START
}

/** Listens on the binding; rejects with DAEMON_RUNNING when another daemon already answers there. */
export async function bind(server: Server, binding: Binding): Promise<void> {
  if (binding.kind === 'fd') return listen(server, { fd: binding.fd });
  const path = binding.path;
  await ownPrivateDir(path);
  const { lock } = await import('proper-lockfile');
  const release = await lock(path, { realpath: false, lockfilePath: `${path}.lock`, retries: { retries: 20, minTimeout: 50, maxTimeout: 200 } });
  try {
    if (await answers(path)) throw running(path);
    await unlink(path).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await listen(server, { path });
    await chmod(path, 0o600);
  } finally {
    await release();
  }
}

function running(path: string): McpdError {
  return new McpdError('DAEMON_RUNNING', `a daemon is already running on ${path}`, {
    hint: 'use it (mcpd status), stop it first (mcpd stop), or give this one another --socket',
  });
}

/**
 * Creates the socket's folder 0700, or checks an existing one: the whole path must be one no
 * other user can change (core/socket-trust.ts); a folder of ours others can read is made private.
 */
async function ownPrivateDir(path: string): Promise<void> {
  const dir = dirname(path);
  await checkSocketPath(path); // before making folders in one another user could change
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await checkSocketPath(path);
  const info = await lstat(dir);
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) {
    throw new McpdError('USAGE', `the socket folder ${dir} is not a folder owned by this user`, {
      hint: 'remove it, or choose another path with --socket or $MCPD_SOCKET',
    });
  }
  if ((info.mode & 0o077) !== 0) await chmod(dir, 0o700);
}

function listen(server: Server, target: { path: string } | { fd: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(target, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
