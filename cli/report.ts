/** How a failed command ends: its McpdError on stderr, and the exit code for it. */
import { McpdError } from '../core/errors.js';
import { EXIT, exitCodeFor } from '../core/exit-codes.js';

/** Prints `error` for the user and returns the exit code it maps to. */
export function report(error: unknown): number {
  if (error instanceof McpdError) {
    process.stderr.write(`mcpd: ${error.format()}\n`);
    return exitCodeFor(error.code);
  }
  process.stderr.write(`mcpd: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  return EXIT.generic;
}
