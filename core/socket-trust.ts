/**
 * Whether a socket path can be trusted to lead to this user's daemon (README "Security
 * model"). Another local user who can create or replace any folder on the path can put a
 * daemon of their own there and receive the client's token and its first messages; so the
 * client checks before it connects, and the daemon before it binds.
 *
 * The rule, as OpenSSH's safe_path and ssh-agent's /tmp/ssh-XXXX/agent.N layout have it: every
 * folder from / down is owned by this user or root and writable by its owner only. A folder
 * writable by others is accepted only when sticky (others cannot rename or remove what they do
 * not own) and only above the socket's own folder: /tmp/mcpd-test-X/mcpd.sock is fine when
 * mcpd-test-X is ours and private, /tmp/mcpd.sock is not. A symbolic link on the way is judged
 * by its owner, and the folders it leads to are checked the same way. The socket itself is
 * this user's, and a socket, not a link to one.
 */
import { lstat, realpath } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { McpdError } from './errors.js';

/** sun_path holds 108 bytes on Linux (104 on macOS), the terminating NUL included. */
export const MAX_SOCKET_PATH = process.platform === 'linux' ? 107 : 103;

const STICKY = 0o1000;

/** Refuses a socket path longer than a Unix socket address holds, naming what to set instead. */
export function checkSocketLength(path: string): void {
  const bytes = Buffer.byteLength(path);
  if (bytes <= MAX_SOCKET_PATH) return;
  throw new McpdError('USAGE', `the socket path ${path} is ${bytes} bytes; Unix sockets allow ${MAX_SOCKET_PATH}`, {
    hint: 'choose a shorter path with --socket or $MCPD_SOCKET (or set $XDG_RUNTIME_DIR, whose mcpd/mcpd.sock is short)',
  });
}

/**
 * Checks every folder of `path` and the socket there, if any; throws SOCKET_UNSAFE naming the
 * path, the folder or file at fault and the fix. `exists` is false when the socket (or a folder
 * on the way) is not there: a client must then not connect, since someone could make it later.
 */
export async function checkSocketPath(path: string): Promise<{ exists: boolean }> {
  const uid = process.getuid?.();
  if (uid === undefined) return { exists: true }; // Windows: a named pipe, no folders to check; connecting tells
  checkSocketLength(path);
  const absolute = resolve(path);
  const folder = dirname(absolute);
  if (!(await checkFolders(path, folder, uid))) return { exists: false };
  // A link on the way is trusted by its owner; the folders it leads to must be trustworthy too.
  const real = await realpath(folder);
  if (real !== folder && !(await checkFolders(path, real, uid))) return { exists: false };
  let info: Stats;
  try {
    info = await lstat(absolute);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { exists: false };
    throw error;
  }
  if (info.isSymbolicLink()) throw unsafe(path, 'it is a symbolic link', `remove ${absolute}; mcpd's daemon makes the socket itself`);
  if (info.uid !== uid) throw unsafe(path, `it is owned by uid ${info.uid}, not by this user (uid ${uid})`, foreignHint(absolute));
  return { exists: true };
}

/** Checks each folder from / down to `folder`; false when one of them does not exist. */
async function checkFolders(path: string, folder: string, uid: number): Promise<boolean> {
  const parts = folder.split(sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = sep + parts.slice(0, i).join(sep);
    let info: Stats;
    try {
      info = await lstat(dir);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw error;
    }
    if (info.uid !== uid && info.uid !== 0) throw unsafe(path, `the folder ${dir} is owned by uid ${info.uid}, not by this user (uid ${uid}) or root`, foreignHint(dir));
    if (info.isSymbolicLink()) continue;
    if (!info.isDirectory()) throw unsafe(path, `${dir} is not a folder`, `remove ${dir}, or choose another path with --socket or $MCPD_SOCKET`);
    const last = i === parts.length;
    if ((info.mode & 0o022) !== 0 && (last || (info.mode & STICKY) === 0)) {
      const who = (info.mode & 0o002) !== 0 ? 'others' : 'its group';
      throw unsafe(path, `the folder ${dir} is writable by ${who} (mode ${(info.mode & 0o7777).toString(8).padStart(4, '0')})`, `chmod go-w ${dir}, or choose a socket in a folder only you can write with --socket or $MCPD_SOCKET`);
    }
  }
  return true;
}

function foreignHint(where: string): string {
  return `another user may be listening there to catch your token; point mcpd at a folder of yours ($XDG_RUNTIME_DIR, or --socket / $MCPD_SOCKET), or remove ${where} if it is a leftover`;
}

function unsafe(path: string, why: string, hint: string): McpdError {
  return new McpdError('SOCKET_UNSAFE', `refusing the socket ${path}: ${why}`, { hint });
}
