/**
 * Where mcpd keeps things, as README "Configuration" says: the XDG base directories on Linux, Application
 * Support on macOS. Everything takes the environment as an argument so tests can point a run
 * at a temporary home without touching the caller's.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

export type Env = Readonly<Record<string, string | undefined>>;

function home(env: Env): string {
  return env.HOME || homedir();
}

function xdg(env: Env, variable: string, fallback: string): string {
  const value = env[variable];
  // The XDG spec says relative paths are invalid and must be ignored.
  return value && value.startsWith('/') ? value : join(home(env), fallback);
}

const macSupport = (env: Env) => join(home(env), 'Library', 'Application Support', 'mcpd');

/** `--config`, else `$MCPD_CONFIG`, else the per-user default. */
export function configPath(env: Env, flag?: string): string {
  if (flag) return flag;
  if (env.MCPD_CONFIG) return env.MCPD_CONFIG;
  if (process.platform === 'darwin') return join(macSupport(env), 'config.json');
  return join(xdg(env, 'XDG_CONFIG_HOME', '.config'), 'mcpd', 'config.json');
}

/** Durable data: the local encrypted store and its key file. */
export function dataDir(env: Env): string {
  if (process.platform === 'darwin') return macSupport(env);
  return join(xdg(env, 'XDG_DATA_HOME', '.local/share'), 'mcpd');
}

/** State that may be rebuilt: logs, the audit log, rotation journals. */
export function stateDir(env: Env): string {
  if (process.platform === 'darwin') return join(macSupport(env), 'state');
  return join(xdg(env, 'XDG_STATE_HOME', '.local/state'), 'mcpd');
}

/** Expands a leading `~/` the way a shell would. */
export function expandHome(path: string, env: Env): string {
  if (path === '~') return home(env);
  return path.startsWith('~/') ? join(home(env), path.slice(2)) : path;
}

/**
 * The daemon's socket: `--socket`, else `$MCPD_SOCKET`, else `$XDG_RUNTIME_DIR/mcpd/mcpd.sock`.
 * Without XDG_RUNTIME_DIR (su, cron, a container, some SSH logins) it is in the user's own state
 * folder: a folder in /tmp could be made first by another user, whose daemon would then get the
 * client's token.
 */
export function socketPath(env: Env, flag?: string): string {
  if (flag) return flag;
  if (env.MCPD_SOCKET) return env.MCPD_SOCKET;
  if (process.platform === 'darwin') return join(home(env), 'Library', 'Caches', 'TemporaryItems', 'mcpd.sock');
  if (env.XDG_RUNTIME_DIR?.startsWith('/')) return join(env.XDG_RUNTIME_DIR, 'mcpd', 'mcpd.sock');
  return join(stateDir(env), 'mcpd.sock');
}
