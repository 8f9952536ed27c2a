/**
 * What a session needs of the server behind it, whether mcpd started it (supervisor/instance.ts,
 * a process on stdio) or connects to it (remote/remote-instance.ts, over HTTP). The session,
 * its rollover and its policy gate see only this, so both kinds get the same bridge.
 */
import type { PreparedLaunch } from '../launcher/launch-spec.js';
import type { InstanceStatus, ServerState } from '../protocol.js';
import type { PreparedRemote } from '../remote/prepare-remote.js';
import type { InstanceListener, KeepLeases } from './instance.js';

/** What a start resolved: a process's launch, or a remote server's URL and headers. */
export type Prepared = PreparedLaunch | PreparedRemote;

export interface ServerInstance {
  readonly state: ServerState;
  /** The process id; undefined for a remote server or when nothing runs. */
  readonly pid: number | undefined;
  /** What the running instance was started with, to compare with fresh values; undefined when none runs. */
  readonly launch: Prepared | undefined;
  status(): InstanceStatus;
  /** The first start; rejects (McpdError) when it cannot start, so the session can be refused. */
  start(listener: InstanceListener): Promise<void>;
  /** Writes one JSON-RPC message; false means wait for the listener's drain(). */
  write(line: Buffer | string): boolean;
  pauseOutput(): void;
  resumeOutput(): void;
  /** Replaces what serves the session now; the session replays the handshake once it is back. */
  restart(reason: string): Promise<void>;
  stop(): Promise<void>;
}

/**
 * One start's values and the keeper of their leases; undefined when a newer start or a stop
 * overtook this one while it resolved (its leases are then revoked at once). `ending` hears of a
 * lease that will end while this start is still current.
 */
export async function prepareStart<P extends Prepared>(
  deps: { readonly prepare: () => Promise<P>; readonly keepLeases: KeepLeases },
  current: () => boolean,
  ending: (reason: string) => void,
): Promise<{ spec: P; leases: ReturnType<KeepLeases> } | undefined> {
  const spec = await deps.prepare();
  const leases = deps.keepLeases(spec.leases, (ref, at, why) => {
    if (current()) ending(`the lease of ${ref} ends at ${new Date(at).toISOString()} (${why})`);
  });
  if (current()) return { spec, leases };
  await leases.revokeAll(); // stopped while resolving
  return undefined;
}
