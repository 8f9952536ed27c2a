/**
 * The user's rotation commands: `command` prints a new value; `apply` and `revoke` get
 * `{"name", "old", "new"}` as JSON on stdin. No shell; values never in argv, and what the
 * commands print is never logged (it may echo a value): a failure says only how it ended.
 */
import { execa } from 'execa';
import { McpdError } from '../../core/errors.js';

const TIMEOUT_MS = 5 * 60_000;

export type RotationCommand = 'command' | 'apply' | 'revoke';

/** Runs one command; resolves with its stdout, rejects with ROTATION_FAILED naming the step and the command. */
export async function runRotationCommand(
  which: RotationCommand,
  argv: readonly string[],
  values: { name: string; old: string; new: string } | undefined,
  name: string,
  env: Record<string, string>,
): Promise<string> {
  const [file, ...args] = argv as [string, ...string[]];
  const shown = `rotation.${name}.${which} (${argv.join(' ')})`;
  const result = await execa(file, args, {
    input: values ? JSON.stringify(values) : '',
    env,
    extendEnv: false,
    reject: false,
    timeout: TIMEOUT_MS,
    stripFinalNewline: false,
  });
  if (result.failed) {
    const how = result.timedOut
      ? `did not finish within ${TIMEOUT_MS / 60_000} minutes`
      : result.exitCode === undefined ? `could not start (${result.code ?? 'no detail'})` : `exited with status ${result.exitCode}`;
    throw new McpdError('ROTATION_FAILED', `${shown} ${how}`, {
      hint: which === 'command'
        ? 'check that the command prints the new value and exits 0; nothing was stored'
        : `run it by hand with the JSON on stdin to see why; the old value stays live until ${which} succeeds`,
    });
  }
  return String(result.stdout);
}
