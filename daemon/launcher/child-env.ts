/**
 * The environment a server starts with. It is built, never inherited: the caller's shell may
 * hold other tokens (AWS keys, a GITHUB_TOKEN, an SSH agent) that one server must not see just
 * because mcpd was started from it. The MCP SDK's stdio client pins the same idea.
 */
import { isOwnCredential } from '../../core/own-credentials.js';
import type { Env } from '../../core/paths.js';
import { own } from '../../core/own.js';

/**
 * What every child gets from the caller, when set. Widening this list leaks the caller's
 * environment into every server: test/daemon/launcher/child-env.test.ts pins it on purpose.
 */
export const SAFE_ENV = ['PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TERM', 'LANG', 'TMPDIR'] as const;

/**
 * The safelisted variables of `parent`, plus those `inherit` asks for (true: all of them),
 * plus `injected`, which wins over both. mcpd's own credentials are never inherited: the config
 * refuses them in an `inheritEnv` list, and `true` means the user's environment, not mcpd's.
 */
export function buildChildEnv(
  parent: Env,
  inherit: boolean | readonly string[],
  injected: Readonly<Record<string, string>>,
): Record<string, string> {
  const names = inherit === true ? Object.keys(parent) : [...SAFE_ENV, ...(inherit === false ? [] : inherit)];
  const env: Record<string, string> = {};
  for (const name of names) {
    if (isOwnCredential(name)) continue;
    const value = own(parent, name);
    if (value !== undefined) env[name] = value;
  }
  return Object.assign(env, injected);
}
