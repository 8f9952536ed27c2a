/**
 * `mcpd run --no-daemon NAME` and ad-hoc commands as the installed command runs them: a bundle
 * of its own (dist/cli/run-local.cjs; execa, zod, the config and the providers), so that the
 * daemon path never parses it. It reports its own errors: the bundle has its own McpdError.
 */
import type { RunOptions } from './commands/run-target.js';
import { report } from './report.js';

/** Runs the server in this process to its end (run() exits with its code); a failure sets the exit code. */
export async function runLocal(options: RunOptions): Promise<void> {
  try {
    await (await import('./commands/run.js')).run(options);
  } catch (error) {
    process.exitCode = report(error);
  }
}
