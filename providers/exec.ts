/**
 * Any password manager with a CLI: a configured command prints the secret on stdout.
 *
 *   "providers": {
 *     "pass": { "type": "exec", "command": ["pass", "show"], "timeout": "10s" }
 *   }
 *
 * `${pass:github/pat}` runs `pass show github/pat`: the reference path is appended as one
 * argument and there is no shell, so a path can never become a command; a path beginning with
 * `-` is refused, so it can never become an option either. The command gets the caller's
 * environment (it needs its own GNUPGHOME, BW_SESSION, agent sockets) less mcpd's own
 * credentials (core/own-credentials.ts), no stdin, and its own process group so a timeout also
 * ends whatever it started.
 */
import ms from 'ms';
import { z } from 'zod';
import { duration } from '../core/duration.js';
import { McpdError } from '../core/errors.js';
import { withoutOwnCredentials } from '../core/own-credentials.js';
import { cacheable } from './cache-ttl.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, resolveEach, showRef } from './provider.js';
import { optionLikePath } from './reference.js';

export const settings = z.strictObject({
  type: z.literal('exec'),
  /** argv of a command that prints the secret; the reference path is appended as the last argument. */
  command: z.array(z.string()).min(1, 'expected argv, e.g. ["pass", "show"]'),
  timeout: duration.default('10s'),
  ...cacheable,
});
export type ExecConfig = z.output<typeof settings>;

const MAX_OUTPUT = 1024 * 1024;

export function create(name: string, config: ExecConfig, ctx: ProviderContext): Provider {
  const timeout = ms(config.timeout as ms.StringValue);
  return {
    name,
    resolve: (refs) => resolveEach(refs, async (ref) => ({ value: await runCommand(config.command, ref, timeout, ctx) })),
    close: async () => {},
  };
}

async function runCommand(command: readonly string[], ref: Ref, timeout: number, ctx: ProviderContext): Promise<string> {
  const optionLike = optionLikePath(ref);
  if (optionLike) throw optionLike;
  const [file, ...args] = command as [string, ...string[]];
  const argv = [...args, ref.path];
  const shown = [file, ...argv].join(' ');
  // Loaded at first use: the config schema imports this module, and a config without exec should not pay for execa.
  const { execa } = await import('execa');
  const subprocess = execa(file, argv, {
    env: withoutOwnCredentials(ctx.env),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    stripFinalNewline: false,
    timeout,
    forceKillAfterDelay: 1000,
    maxBuffer: MAX_OUTPUT,
    detached: true,
  });
  const result = await subprocess;
  if (result.timedOut) {
    killGroup(subprocess.pid);
    throw new McpdError('PROVIDER_TIMEOUT', `${showRef(ref)}: \`${shown}\` did not finish within ${ms(timeout)}`, {
      hint: `check the command works on its own (it may be waiting for a password prompt), or raise "timeout" for this provider`,
    });
  }
  if (result.failed) throw failure(ref, shown, result);
  return String(result.stdout).replace(/\r?\n$/, '');
}

interface Failed {
  exitCode?: number | undefined;
  signal?: string | undefined;
  code?: string | undefined;
  stderr?: unknown;
  isMaxBuffer?: boolean;
}

function failure(ref: Ref, shown: string, result: Failed): McpdError {
  if (result.code === 'ENOENT' || result.code === 'EACCES') {
    return new McpdError('PROVIDER_FAILED', `${showRef(ref)}: cannot run \`${shown}\` (${result.code})`, {
      hint: 'install the command or correct "command" in this provider\'s config',
    });
  }
  if (result.isMaxBuffer) {
    return new McpdError('PROVIDER_FAILED', `${showRef(ref)}: \`${shown}\` printed more than ${MAX_OUTPUT} bytes`, {
      hint: 'the command should print only the secret',
    });
  }
  // The first stderr line says why (`Error: x is not in the password store.`); a failing
  // command printed no secret on stdout, and stdout is never quoted.
  const why = String(result.stderr ?? '').trim().split('\n')[0]?.slice(0, 200);
  const status = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.exitCode}`;
  return new McpdError('PROVIDER_FAILED', `${showRef(ref)}: \`${shown}\` ${status}${why ? `: ${why}` : ''}`, {
    hint: 'run the command yourself to see what it needs (a login, an unlocked agent, a correct path)',
  });
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // Already gone: the timeout killed the whole group.
  }
}
