/**
 * The daemon's own log: JSON lines in `daemon.log` in the state dir, a RotatingFile capped at
 * `daemon.log` in the config, and on stderr for journald or a terminal. Fields are names,
 * references, pids and codes; a value never is.
 */
import { fstatSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { emptyConfig } from './config/schema.js';
import { type FileLimits, RotatingFile } from './rotating-file.js';

export type Logger = (event: string, fields?: Record<string, unknown>) => void;

/** A Logger whose file's cap can be set once the config is read (the log is opened before). */
export interface FileLogger extends Logger {
  limit(limits: FileLimits): void;
  close(): void;
}

/** `stderr`: undefined writes the file only. */
export function createLogger(stateDir: string, stderr: NodeJS.WritableStream | undefined = logStderr()): FileLogger {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = new RotatingFile(join(stateDir, 'daemon.log'), emptyConfig.daemon.log);
  const log: Logger = (event, fields = {}) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`;
    stderr?.write(line);
    file.write(line);
  };
  return Object.assign(log, { limit: (limits: FileLimits) => { file.limits = limits; }, close: () => file.close() });
}

/**
 * The process's stderr, unless it is a regular file (`mcpd start`'s `daemon.stderr`, kept for a
 * start-up failure; launchd's `launchd.log`), where a copy of every line would grow without the
 * cap `daemon.log` has.
 */
function logStderr(): NodeJS.WritableStream | undefined {
  try {
    return fstatSync(2).isFile() ? undefined : process.stderr;
  } catch {
    return process.stderr;
  }
}
