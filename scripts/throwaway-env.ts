/**
 * The environment of a throwaway mcpd home, for the demo, the benches and the tests' sandbox:
 * every place mcpd reads or writes (its config, state, stores and socket) is inside `home` or
 * where the caller says, so a run touches nothing of the user's; only PATH comes from the caller.
 */
import { join } from 'node:path';

export type ThrowawayEnv = Record<string, string> & { HOME: string; MCPD_CONFIG: string; MCPD_SOCKET: string };

/** Unix socket paths hold 107 bytes (sun_path): longer ones fail at bind with an error that does not say so. */
const MAX_SOCKET_BYTES = 107;

export function throwawayEnv(home: string, where: { config: string; socket: string }): ThrowawayEnv {
  if (Buffer.byteLength(where.socket) > MAX_SOCKET_BYTES) {
    throw new Error(`the socket path ${where.socket} is too long for a Unix socket (${MAX_SOCKET_BYTES} bytes at most); set TMPDIR to a shorter folder`);
  }
  return {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    MCPD_CONFIG: where.config,
    MCPD_SOCKET: where.socket,
  };
}
