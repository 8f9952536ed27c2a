/**
 * The rotation scheduler as the daemon runs it: a rotated secret rolls every open session whose
 * server uses it, and its old value is revoked only once no process started before the
 * rotation holds it any more.
 */
import type { Clock } from '../../core/clock.js';
import { withoutOwnCredentials } from '../../core/own-credentials.js';
import type { Env } from '../../core/paths.js';
import { type Ref, showRef } from '../../providers/provider.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { type Audit, recordRotationStep } from '../audit/audit.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { Session } from '../session/session.js';
import { RotationScheduler, serverUses } from './scheduler.js';

export interface DaemonRotationDeps {
  readonly stateDir: string;
  readonly clock: Clock;
  readonly env: Env;
  readonly log: Logger;
  readonly audit: Audit;
  /** The daemon's current config, open sessions and providers, read at each use. */
  readonly config: () => Config;
  readonly sessions: () => Iterable<Session>;
  readonly registry: () => ProviderRegistry;
  /** Replaces the pooled instances of the servers using `ref` with fresh ones. */
  readonly refreshPools?: (ref: Ref, reason: string) => Promise<void>;
}

export function daemonRotation(config: Config, deps: DaemonRotationDeps): RotationScheduler {
  const users = (ref: Ref) => [...deps.sessions()].filter((s) => serverUses(deps.config().mcpServers[s.server], ref));
  return new RotationScheduler(config.rotation, {
    stateDir: deps.stateDir,
    clock: deps.clock,
    providerOf: (name) => deps.registry().get(name),
    roll: async (ref) => {
      const sessions = users(ref);
      await Promise.all([...sessions.map((s) => s.roll(`rotation of ${showRef(ref)}`)), deps.refreshPools?.(ref, `rotation of ${showRef(ref)}`)]);
      return sessions.length;
    },
    holders: (ref, since) => users(ref).filter((s) => {
      const { state, since: started } = s.instance.status();
      return state === 'running' && started !== undefined && Date.parse(started) < since;
    }).length,
    note: (message) => deps.log('rotation.note', { message }),
    audit: (secret, step, detail) => recordRotationStep(deps.audit, secret, step, detail),
    // The hooks are the user's own commands, as an exec helper is: they get the daemon's
    // environment (a CLI they call may need its own login) less mcpd's own credentials.
    commandEnv: withoutOwnCredentials(deps.env),
  });
}
