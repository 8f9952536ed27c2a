/**
 * `mcpd run NAME` through the daemon as the installed command runs it: a bundle of its own
 * (dist/cli/run-daemon.cjs; the socket client and ws), loaded with a code cache by cli/bin.ts.
 * It reports its own errors: the bundle has its own McpdError.
 */
import type { RunOptions } from './commands/run-target.js';
import { serverName } from './commands/run-target.js';
import { runSession } from './commands/run-session.js';
import { report } from './report.js';

/** Relays the session to its end and exits with the server's status; a failure sets the exit code. */
export async function runDaemon(options: RunOptions): Promise<void> {
  try {
    process.exit(await runSession(serverName(options), options));
  } catch (error) {
    process.exitCode = report(error);
  }
}
