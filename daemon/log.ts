/**
 * The daemon's own log: JSON lines on stderr (journald and launchd keep them) and in
 * `daemon.log` in the state dir. Fields are names, references, pids and codes; a value never is.
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';

export type Logger = (event: string, fields?: Record<string, unknown>) => void;

export function createLogger(stateDir: string, stderr: NodeJS.WritableStream = process.stderr): Logger {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const file = join(stateDir, 'daemon.log');
  return (event, fields = {}) => {
    const line = `${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`;
    stderr.write(line);
    // Synchronous: the last lines before a crash or a SIGKILL are the ones worth having.
    try {
      appendFileSync(file, line, { mode: 0o600 });
    } catch {
      // A full disk must not take the running servers down with it.
    }
  };
}
