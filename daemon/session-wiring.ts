/**
 * What a session of a server is built from, read from the daemon's current config at each use:
 * its supervised instances (their leases kept, each reference audited as it resolves), how it
 * rolls onto fresh values, and its policy gate (each policy compiled once per config, and the
 * roles once per config: auth/roles.ts). Which sessions are open, and who opened them, is the
 * SessionTable's.
 */
import ms from 'ms';
import { systemClock } from '../core/clock.js';
import { refsOf } from '../providers/reference.js';
import type { ProviderRegistry } from '../providers/registry.js';
import { type AuditLog, MCPD } from './audit/audit.js';
import type { Actor } from './audit/events.js';
import type { RateRefusal, SubjectLimits } from './auth/limits.js';
import type { LimitNotes } from './audit/limit-notes.js';
import { roleBook } from './auth/roles.js';
import type { Principal } from './auth/scopes.js';
import { type Config, isRemote, type ServerConfig } from './config/schema.js';
import type { DaemonOptions } from './daemon.js';
import { startChild } from './launcher/child.js';
import { type PreparedLaunch, prepareLaunch } from './launcher/launch-spec.js';
import { prepareRemote, type PreparedRemote, signsIn } from './remote/prepare-remote.js';
import type { SignIns } from './remote/oauth/sign-ins.js';
import { RemoteInstance } from './remote/remote-instance.js';
import type { Prepared, ServerInstance } from './supervisor/server-instance.js';
import { PolicyGate } from './policy/gate.js';
import { compilePolicy, type Judge, type Policy } from './policy/policy.js';
import type { RollDeps } from './session/rollover.js';
import { type BackoffPolicy, Instance, type KeepLeases } from './supervisor/instance.js';
import { LeaseKeeper } from './supervisor/leases.js';
import { own } from '../core/own.js';
import { McpdError } from '../core/errors.js';
import type { Owner } from './supervisor/warm-instance.js';

export interface WiringDeps {
  readonly options: Pick<DaemonOptions, 'env' | 'log' | 'clock' | 'start'>;
  readonly audit: AuditLog;
  /** The config now: a reload replaces it. */
  config(): Config;
  /** The provider registry now: a reload replaces it. */
  registry(): ProviderRegistry;
  readonly signIns: SignIns;
  readonly limits: SubjectLimits;
  readonly limitNotes: LimitNotes;
}

export class SessionWiring {
  readonly #deps: WiringDeps;
  /** Each server's compiled policy, for the config it was compiled from: a reload makes them afresh. */
  readonly #policies = new WeakMap<Config, Map<string, Policy>>();

  constructor(deps: WiringDeps) {
    this.#deps = deps;
  }

  /** How session `id` of `name` rolls onto fresh values; `prepare` resolves a launch afresh. */
  roll(id: string, name: string, server: ServerConfig, prepare: () => Promise<Prepared>): RollDeps {
    return {
      prepare,
      // A launch a roll does not use: its leases go back at once.
      discard: (launch) => this.#keepLeases(id, name)(launch.leases, () => {}).revokeAll(),
      // Its first start uses the values the roll resolved; a later restart resolves afresh.
      newInstance: (launch) => {
        let first: Prepared | undefined = launch;
        return this.instance(id, name, () => {
          const given = first;
          first = undefined;
          return given ? Promise.resolve(given) : prepare();
        });
      },
      clock: this.#deps.options.clock ?? systemClock,
      backoff: this.backoff(),
      drainMs: ms(this.#deps.config().daemon.rollover.drainTimeout as ms.StringValue),
      enabled: server.rollover,
      ttlMs: server.ttl === undefined ? undefined : ms(server.ttl as ms.StringValue),
    };
  }

  /**
   * The tool policy, role rights and call auditing of session `id` of `name`, opened by
   * `principal`; `countRequests` when the transport does not count them against the subject's
   * rate itself (the WebSocket route counts in the gate, the HTTP gateway per HTTP request).
   */
  gate(id: string, name: string, principal: Principal, countRequests: boolean): PolicyGate {
    const clock = this.#deps.options.clock ?? systemClock;
    return new PolicyGate({
      policy: () => this.#policy(name),
      rights: this.#rights(principal, name),
      ...(countRequests ? { rate: () => this.#taken(principal, name) } : {}),
      audit: this.#deps.audit.by(principal), session: id, server: name, now: () => clock.now(),
    });
  }

  /** One request of `principal` on `name` counted against its rate; a refusal goes to the audit log (counted, LimitNotes). */
  #taken(principal: Principal, name: string): RateRefusal | undefined {
    const refusal = this.#deps.limits.take(principal);
    if (refusal) this.#deps.limitNotes.refused('rate.limited', principal, name, refusal.limit);
    return refusal;
  }

  /** The rights of `principal` on `name`, worked out again only when a reload replaced the config. */
  #rights(principal: Principal, name: string): () => Judge | undefined {
    let config: Config | undefined;
    let judge: Judge | undefined;
    return () => {
      const now = this.#deps.config();
      if (now !== config) {
        config = now;
        judge = roleBook(now).rightsOn(principal, name)?.judge;
      }
      return judge;
    };
  }

  /** One supervised process of `name` for session `id`, or the connection to it when it is a url server. */
  instance(id: string, name: string, prepare: () => Promise<Prepared>): ServerInstance {
    const server = own(this.#deps.config().mcpServers, name);
    if (server && isRemote(server)) {
      return new RemoteInstance({
        session: id,
        prepare: prepare as () => Promise<PreparedRemote>,
        keepLeases: this.#keepLeases(id, name),
        clock: this.#deps.options.clock ?? systemClock,
        maxMessageBytes: this.#deps.config().daemon.maxMessageBytes,
        // The definition at this start: a reload that changed the URL or the OAuth settings gets a new sign-in.
        signIn: (spec) => {
          const now = own(this.#deps.config().mcpServers, name);
          return now && isRemote(now) && signsIn(spec) ? this.#deps.signIns.of(name, now) : undefined;
        },
        log: (event, fields) => this.#deps.options.log(event, { session: id, server: name, ...fields }),
      });
    }
    return new Instance({
      session: id,
      // Read at each start, so a restart after a reload uses the new definition and fresh values.
      prepare: prepare as () => Promise<PreparedLaunch>,
      start: this.#deps.options.start ?? startChild,
      keepLeases: this.#keepLeases(id, name),
      clock: this.#deps.options.clock ?? systemClock,
      backoff: this.backoff(),
      maxMessageBytes: this.#deps.config().daemon.maxMessageBytes,
    });
  }

  /** A pooled process of command server `name` (supervisor/warm-pool.ts), built as a session's: its references audited as `owner.session` at each start. */
  pooled(name: string, owner: Owner): Instance {
    const fallback = own(this.#deps.config().mcpServers, name);
    if (!fallback || isRemote(fallback)) throw new McpdError('INTERNAL', `a warm pool for "${name}", which is not a command server in the config`);
    const note = (message: string) => this.#deps.options.log('session.note', { session: owner.session, server: name, message });
    return this.instance('pool', name, () => this.prepare(owner.session, name, fallback, note, MCPD)) as Instance;
  }

  /** Resolves a launch of `name` (read at each start, so a restart after a reload uses the new definition) and audits each reference as `by` asked for it. */
  async prepare(session: string, name: string, fallback: ServerConfig, note: (message: string) => void, by: Actor): Promise<Prepared> {
    const where = `mcpServers.${name}`;
    const server = own(this.#deps.config().mcpServers, name) ?? fallback;
    const launch = isRemote(server)
      ? await prepareRemote(name, server, where, this.#deps.registry(), note)
      : await prepareLaunch({ name, server, where }, this.#deps.registry(), this.#deps.options.env, note);
    const audit = this.#deps.audit.by(by);
    for (const ref of launch.refs) {
      audit.record({ event: 'secret.resolved', session, server: name, ref, provider: refsOf(ref, where)[0]?.provider ?? 'unknown' });
    }
    return launch;
  }

  #keepLeases(id: string, name: string): KeepLeases {
    return (leases, ending) => new LeaseKeeper(leases, {
      clock: this.#deps.options.clock ?? systemClock,
      random: Math.random,
      // By name at each use: after a reload, the registry that granted a lease is closed.
      providerOf: (provider) => this.#deps.registry().get(provider),
      note: (message) => this.#deps.options.log('lease.note', { session: id, server: name, message }),
      ending,
    });
  }

  /** The daemon's restart backoff, as the config sets it now. */
  backoff(): BackoffPolicy {
    const r = this.#deps.config().daemon.restart;
    const duration = (text: string) => ms(text as ms.StringValue);
    return { initialMs: duration(r.initialDelay), maxMs: duration(r.maxDelay), stableMs: duration(r.stableAfter), maxRestarts: r.maxRestarts };
  }

  #policy(name: string): Policy {
    const config = this.#deps.config();
    let compiled = this.#policies.get(config);
    if (!compiled) this.#policies.set(config, (compiled = new Map()));
    let policy = compiled.get(name);
    if (!policy) compiled.set(name, (policy = compilePolicy(own(config.mcpServers, name) ?? {}, `mcpServers.${name}`)));
    return policy;
  }
}
