/**
 * From a server's definition to a LaunchSpec: every reference resolved, the clean environment
 * built. Shared by `mcpd run --no-daemon` and the daemon, so both launch a server identically.
 * Nothing is spawned here, and nothing is spawned by anyone until this has fully succeeded.
 */
import type { Env } from '../../core/paths.js';
import type { LocalServerConfig } from '../config/schema.js';
import { showRef } from '../../providers/provider.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { refsOf } from '../../providers/reference.js';
import { type PlaceOf, type ResolvedEnv, resolveEnv, resolveText, revokeLeases } from '../../providers/resolver.js';
import type { HeldLease } from '../supervisor/leases.js';
import { buildChildEnv } from './child-env.js';
import type { LaunchSpec } from './child.js';
import { type InjectedValue, MIN_MASKED_LENGTH } from './masker.js';

export interface LaunchSource {
  readonly name: string;
  readonly server: LocalServerConfig;
  /** The server's JSON path (`mcpServers.github`), or '-e' for an ad-hoc command whose only references are in -e flags. */
  readonly where: string;
}

export interface PreparedLaunch extends LaunchSpec {
  /** Every reference the launch used (`${secret:github/pat}`), for status; never values. */
  readonly refs: readonly string[];
  /** Leases of the injected values, this launch's alone: kept while its process runs, revoked after. */
  readonly leases: readonly HeldLease[];
}

/** Resolves a server's references; `note` gets --verbose lines (never values). */
export async function prepareLaunch(source: LaunchSource, registry: ProviderRegistry, parentEnv: Env, note: (message: string) => void): Promise<PreparedLaunch> {
  const { name, server, where } = source;
  const adhoc = where === '-e';
  const placeOf: PlaceOf = adhoc ? (variable) => `-e ${variable}` : (variable) => `${where}.env.${variable}`;
  const resolved = await resolveEnv(server, registry, placeOf);
  for (const { variable, reason } of resolved.dropped) note(`left out ${variable}: ${reason}`);
  // Only `${NAME}` references may appear outside env (the schema refuses secrets there); an
  // ad-hoc command line was already expanded by the user's shell.
  const text = (value: string, path: string) => (adhoc ? Promise.resolve(value) : resolveText(value, registry, path));
  try {
    return {
      name: adhoc ? undefined : name,
      command: await text(server.command, `${where}.command`),
      args: await Promise.all(server.args.map((arg, i) => text(arg, `${where}.args[${i}]`))),
      cwd: server.cwd === undefined ? undefined : await text(server.cwd, `${where}.cwd`),
      env: buildChildEnv(parentEnv, server.inheritEnv, resolved.env),
      secrets: [...resolved.secrets, ...literalValues(server.env, resolved, placeOf)],
      refs: resolved.refs.map(showRef),
      leases: resolved.leases.map(({ ref, lease }) => ({ ref: showRef(ref), provider: ref.provider, lease })),
    };
  } catch (error) {
    await revokeLeases(resolved.leases, registry);
    throw error;
  }
}

/**
 * The env values written in the config itself (no reference), long enough to mask: a token
 * pasted into the config is as secret as a stored one. Shorter ones are not warned about, as
 * most are settings (`LOG_LEVEL=debug`).
 */
function literalValues(env: Readonly<Record<string, string>>, resolved: ResolvedEnv, placeOf: PlaceOf): InjectedValue[] {
  return Object.entries(env).flatMap(([variable, text]) => {
    const value = resolved.env[variable];
    const literal = value !== undefined && value.length >= MIN_MASKED_LENGTH && refsOf(text, placeOf(variable)).length === 0;
    return literal ? [{ variable, value }] : [];
  });
}
