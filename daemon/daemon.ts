/**
 * The daemon: owns the config (the last good one), the provider registry, the socket and every
 * session. Each session has one server process of its own (an Instance), so two host apps never
 * share a server's state. Clock and spawning are injected for tests.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Server } from 'node:http';
import type { FSWatcher } from 'chokidar';
import type { WebSocket } from 'ws';
import { type Clock, systemClock } from '../core/clock.js';
import { McpdError } from '../core/errors.js';
import type { Env } from '../core/paths.js';
import { checkReferences, type Finding } from '../providers/check.js';
import { ProviderRegistry } from '../providers/registry.js';
import { AuditLog, MCPD, UNAUTHENTICATED } from './audit/audit.js';
import { LimitNotes, UNKNOWN_SERVER } from './audit/limit-notes.js';
import { ClientAccess } from './auth/access.js';
import { GrantStore } from './auth/oauth/grants.js';
import { OAuthIssuer } from './auth/oauth/issuer.js';
import { OWNER, type Principal } from './auth/scopes.js';
import { rateLimitError, retryAfterHeader, SubjectLimits } from './auth/limits.js';
import { ExpiryWatch } from './auth/expiry.js';
import { EventFeed } from './events.js';
import { TokenStore } from './auth/store.js';
import { changedAtNextStart, diffConfig } from './config/diff.js';
import { loadConfig } from './config/load.js';
import { referenceUses } from './config/references.js';
import type { Config } from './config/schema.js';
import type { AuthStatus } from './remote/oauth/auth-status.js';
import { serveControl } from './control.js';
import type { StartChild } from './launcher/child.js';
import type { Logger } from './log.js';
import type { FileLimits } from './rotating-file.js';
import { LogBook } from './logbook.js';
import { CLOSE, type ControlMethods, type DaemonStatus, type SessionInfo } from './protocol.js';
import { configWarnings } from './policy/check.js';
import { extraListener, type ListenerDeps, ownerSocketServer, type SharedHandlers } from './server/daemon-listeners.js';
import { type Binding, bind } from './server/listen.js';
import { closeServer, ExtraListeners } from './server/extra-listeners.js';
import { REFUSAL_INTERVAL_MS, RefusalTally } from './server/refusal-tally.js';
import { openSession, serverNamed, type SessionOpenerDeps } from './session-opener.js';
import { SessionTable } from './session-table.js';
import { SessionWiring } from './session-wiring.js';
import { SignIns } from './remote/oauth/sign-ins.js';
import type { ServerAuth } from './remote/oauth/server-auth.js';
import { resolveEnv } from '../providers/resolver.js';
import { daemonRotation } from './rotation/daemon-scheduler.js';
import type { RotationScheduler } from './rotation/scheduler.js';
import { serverStatus } from './server-status.js';
import { own } from '../core/own.js';
import { WarmPools } from './warm-pools.js';
import { serverUses } from './rotation/scheduler.js';

export interface DaemonOptions {
  readonly configPath: string;
  readonly binding: Binding;
  /** Shown in status; removed at shutdown when the daemon bound it itself. */
  readonly socketPath: string;
  readonly stateDir: string;
  readonly env: Env;
  readonly log: Logger;
  /** Caps the file `log` writes at the config's `daemon.log` (the CLI opens it before the config is read). */
  readonly limitLog?: (limits: FileLimits) => void;
  readonly version: string;
  readonly clock?: Clock;
  readonly start?: StartChild;
  /** Watch the config file and apply valid edits (default true). */
  readonly watch?: boolean;
}

type ReloadResult = ControlMethods['config.reload']['result'];

export class Daemon {
  readonly startedAt = new Date();
  readonly logs: LogBook;
  readonly audit: AuditLog;
  readonly access: ClientAccess;
  /** mcpd's own authorization server (the `oauth` provider): consents, codes, grants. */
  readonly oauth: OAuthIssuer;
  /** Each subject's sessions and requests a minute; the HTTP gateway takes a request from it before passing it on. */
  readonly limits: SubjectLimits;
  /** Refusals for those limits, in the audit log at most once a minute per subject and server. */
  readonly limitNotes: LimitNotes;
  /** Refusals before the upgrade, counted per listener and peer rather than logged one by one. */
  readonly refusals: RefusalTally;
  /** What the daemon logs, as it happens, for `mcpd events`. */
  readonly events = new EventFeed();
  /** Every url server's sign-in (OAuth, or a token given to `mcpd auth login`), shared by its sessions. */
  readonly signIns: SignIns;
  readonly #options: DaemonOptions;
  readonly #sessions = new SessionTable();
  /** Open control connections and who opened them: a revoked token's `logs -f` or event subscription must end too. */
  readonly #controls = new Map<WebSocket, Principal>();
  #extra: ExtraListeners | undefined;
  readonly #expiry: ExpiryWatch;
  #config: Config;
  #registry: ProviderRegistry;
  #configError: string | undefined;
  /** The config the daemon started with, for what a reload cannot apply (ConfigDiff.atNextStart). */
  readonly #startConfig: Config;
  #server: Server | undefined;
  #watcher: FSWatcher | undefined;
  readonly #rotation: RotationScheduler;
  readonly #wiring: SessionWiring;
  readonly #pools: WarmPools;
  readonly #opener: SessionOpenerDeps;
  #stopping: Promise<void> | undefined;
  readonly #stopped: Promise<void>;
  #resolveStopped!: () => void;

  private constructor(given: DaemonOptions, config: Config, tokens: TokenStore, grants: GrantStore) {
    const options = { ...given, log: this.events.tap(given.log) };
    this.#options = options;
    this.#config = config;
    this.#startConfig = config;
    this.#registry = this.#newRegistry(config);
    options.limitLog?.(config.daemon.log);
    this.logs = new LogBook(options.stateDir, config.daemon.log);
    this.audit = new AuditLog(options.stateDir, { ...config.daemon.audit, clock: options.clock ?? systemClock });
    this.refusals = new RefusalTally({ clock: options.clock ?? systemClock, intervalMs: REFUSAL_INTERVAL_MS, log: options.log, audit: this.audit.by(UNAUTHENTICATED) });
    this.limits = new SubjectLimits(() => this.#config, options.clock ?? systemClock);
    this.limitNotes = new LimitNotes({ clock: options.clock ?? systemClock, audit: this.audit });
    this.oauth = new OAuthIssuer(grants, options.clock ?? systemClock);
    this.oauth.onRevoked = () => void this.dropRevoked();
    this.access = new ClientAccess(tokens, () => this.#config, options.clock ?? systemClock, this.audit, this.oauth);
    this.#rotation = daemonRotation(config, {
      stateDir: options.stateDir, clock: options.clock ?? systemClock, env: options.env, log: options.log, audit: this.audit.by(MCPD),
      config: () => this.#config, sessions: () => this.#sessions.all(), registry: () => this.#registry,
      refreshPools: (ref, reason) => this.#pools.refresh((_name, server) => serverUses(server, ref), reason),
    });
    this.signIns = new SignIns({
      store: () => this.#registry.get('secret'),
      clock: options.clock ?? systemClock,
      env: options.env,
      log: options.log,
      // A lease on an OAuth client secret is not kept: the secret is read at each sign-in.
      resolve: async (name, values) => (await resolveEnv({ env: values }, this.#registry, (key) => `mcpServers.${name}.oauth.${key}`)).env,
    });
    this.#wiring = new SessionWiring({
      options, audit: this.audit, config: () => this.#config, registry: () => this.#registry, signIns: this.signIns, limits: this.limits, limitNotes: this.limitNotes,
    });
    this.#pools = new WarmPools((name) => ({
      clock: options.clock ?? systemClock,
      backoff: () => this.#wiring.backoff(),
      create: (owner) => this.#wiring.pooled(name, owner),
      log: options.log,
      stderr: (line) => this.logs.add(name, 'pool', line),
    }), options.env);
    this.#expiry = new ExpiryWatch(options.clock ?? systemClock, () => void this.dropRevoked());
    this.#opener = {
      config: () => this.#config, configPath: options.configPath, stopping: () => this.#stopping !== undefined,
      sessions: this.#sessions, limits: this.limits, limitNotes: this.limitNotes, wiring: this.#wiring, pools: this.#pools,
      audit: this.audit, logs: this.logs, log: options.log, access: this.access, expiry: this.#expiry,
    };
    this.#stopped = new Promise((resolve) => { this.#resolveStopped = resolve; });
  }

  /** Loads the config, binds the socket and starts serving; rejects (McpdError) when either fails. */
  static async start(options: DaemonOptions): Promise<Daemon> {
    const loaded = await loadConfig(options.configPath, { required: false });
    const oauthStore = await GrantStore.open(join(options.stateDir, 'oauth.json'));
    const daemon = new Daemon(options, loaded.config, await TokenStore.open(join(options.stateDir, 'tokens.json')), oauthStore);
    const oauth = daemon.oauth;
    const log = daemon.#options.log;
    const handlers: SharedHandlers = {
      maxMessageBytes: loaded.config.daemon.maxMessageBytes,
      openSession: (name, link, client, principal) => openSession(daemon.#opener, name, link, client, principal),
      control: (ws, principal) => {
        daemon.#controls.set(ws, principal);
        ws.once('close', () => daemon.#controls.delete(ws));
        // A `logs -f` or an event subscription stays open: it ends when its token expires, as a session does.
        const expires = daemon.access.expiresAt(principal);
        if (expires !== undefined) daemon.#expiry.watch(expires);
        serveControl(ws, daemon, principal);
      },
      takeRequest: (principal, server) => {
        const refusal = daemon.limits.take(principal);
        if (!refusal) return undefined;
        // The route comes from the request: only a configured server's name is kept, so a flood of made-up names is one pair.
        daemon.limitNotes.refused('rate.limited', principal, own(daemon.#config.mcpServers, server) ? server : UNKNOWN_SERVER, refusal.limit);
        return { error: rateLimitError(refusal, daemon.#options.configPath), retryAfter: retryAfterHeader(refusal) };
      },
      note: (event, fields) => log(event, fields),
      refused: (refusal) => daemon.refusals.record(refusal),
    };
    const listeners: ListenerDeps = { access: daemon.access, config: () => daemon.#config, extras: { oauth, note: log, audit: daemon.audit } };
    daemon.#server = ownerSocketServer(handlers, listeners);
    await bind(daemon.#server, options.binding);
    daemon.#extra = new ExtraListeners(extraListener(handlers, listeners));
    try {
      await daemon.#extra.start(loaded.config.socket.listen);
    } catch (error) {
      await closeServer(daemon.#server);
      throw error;
    }
    for (const warning of configWarnings(loaded.config)) log('config.warning', { config: options.configPath, warning });
    // Started once the socket is ours (a second daemon must not rotate), but made before: status asks it from the first connection on.
    await daemon.#rotation.start();
    // Under socket activation too: the pools fill once the daemon serves, not when a first session asks.
    await daemon.#pools.configure(loaded.config);
    log('daemon.started', { pid: process.pid, socket: options.socketPath, config: options.configPath, servers: Object.keys(loaded.config.mcpServers) });
    if (options.watch !== false) await daemon.#watch();
    return daemon;
  }

  /** The sign-in of url server `name`, for `mcpd auth`; an error naming the server when it has none. */
  signInOf(name: string): ServerAuth {
    return this.signIns.named(name, this.#config.mcpServers);
  }

  /** `mcpd auth status`: the sign-in of every url server. */
  authStatus(): Promise<AuthStatus[]> {
    return this.signIns.status(this.#config.mcpServers);
  }

  /** A line in the daemon's log (and to `mcpd events`); fields are names and codes, never values. */
  log(event: string, fields: Record<string, unknown> = {}): void {
    this.#options.log(event, fields);
  }

  /** Whether every reference of the config resolves in the daemon (its environment, its cache); never a value. */
  checkSecrets(): Promise<Finding[]> {
    return checkReferences(referenceUses(this.#config), this.#registry);
  }

  get rotation(): RotationScheduler {
    return this.#rotation;
  }

  /** Resolves once the daemon has stopped. */
  get stopped(): Promise<void> {
    return this.#stopped;
  }

  status(): DaemonStatus {
    const servers = Object.entries(this.#config.mcpServers).map(([name, server]) =>
      serverStatus(name, server, this.#sessions.of(name).map((s) => s.status()), this.#sessions.failure(name), this.#pools.status(name)));
    return {
      pid: process.pid, version: this.#options.version, socket: this.#options.socketPath, config: this.#options.configPath,
      startedAt: this.startedAt.toISOString(), configError: this.#configError, atNextStart: changedAtNextStart(this.#startConfig, this.#config),
      servers, listeners: this.#extra?.names ?? [], listenerFailures: this.#extra?.failures ?? [],
      rotation: this.#rotation.status().filter((r) => r.overdue || r.state !== 'idle'),
    };
  }

  sessions(): SessionInfo[] {
    return this.#sessions.all().map((s) => {
      const { subject, roles } = this.#sessions.principalOf(s.id) ?? OWNER;
      return { id: s.id, server: s.server, openedAt: s.openedAt.toISOString(), pid: s.instance.pid, state: s.instance.state, client: s.client, subject, roles: [...roles] };
    });
  }

  /** Restarts every running instance of `name`; with `roll`, rolls each session onto fresh values instead. */
  async restartServer(name: string, roll = false): Promise<number> {
    serverNamed(this.#config, name, this.#options.configPath);
    const sessions = this.#sessions.of(name);
    // Pooled instances are replaced either way: none waits with the values being moved away from.
    const pooled = this.#pools.refresh((pool) => pool === name, roll ? 'mcpd restart --roll' : 'mcpd restart');
    if (roll) {
      const [outcomes] = await Promise.all([Promise.all(sessions.map((s) => s.roll('mcpd restart --roll'))), pooled]);
      this.#options.log('server.rolled', { server: name, sessions: sessions.length, outcomes });
      return sessions.length;
    }
    await Promise.all([...sessions.map((s) => s.restart('mcpd restart')), pooled]);
    this.#options.log('server.restarted', { server: name, sessions: sessions.length });
    return sessions.length;
  }

  /** Ends every session of `name` (MCP's shutdown for each process); returns how many. A new session starts it again. */
  async stopServer(name: string): Promise<number> {
    serverNamed(this.#config, name, this.#options.configPath);
    const sessions = this.#sessions.of(name);
    await Promise.all([...sessions.map((s) => s.end(CLOSE.goingAway, `server "${name}" was stopped (mcpd stop ${name})`)), this.#pools.stop(name)]);
    this.#options.log('server.stopped', { server: name, sessions: sessions.length });
    return sessions.length;
  }

  /** Re-reads the config; an invalid one is refused and the last good one stays. */
  async reload(): Promise<ReloadResult> {
    let next: Config;
    try {
      next = (await loadConfig(this.#options.configPath, { required: false })).config;
    } catch (error) {
      this.#configError = error instanceof McpdError ? error.message : String(error);
      this.#options.log('config.rejected', { config: this.#options.configPath, error: this.#configError });
      throw error;
    }
    const diff = diffConfig(this.#config, next);
    const previous = this.#registry;
    this.#config = next;
    this.#configError = undefined;
    this.#registry = this.#newRegistry(next);
    void previous.close();
    this.#options.log('config.reloaded', { ...diff });
    for (const warning of configWarnings(next)) this.#options.log('config.warning', { config: this.#options.configPath, warning });
    for (const path of diff.atNextStart) {
      this.#options.log('config.warning', { config: this.#options.configPath, warning: `${path} changed: it applies when the daemon starts again (mcpd stop, then mcpd start or the next mcpd run)` });
    }
    const listenerFailures = (await this.#extra?.update(next.socket.listen) ?? []).map((error) => error.message);
    for (const failure of listenerFailures) this.#options.log('config.warning', { config: this.#options.configPath, warning: failure });
    await this.dropRevoked();
    await this.#rotation.reconfigure(next.rotation);
    await Promise.all([
      ...diff.removed.flatMap((name) => this.#sessions.of(name).map((s) => s.end(CLOSE.goingAway, `server "${name}" was removed from the config`))),
      ...diff.changed.flatMap((name) => this.#sessions.of(name).map((s) => s.restart('its definition changed'))),
      this.#pools.configure(next, diff.changed),
    ]);
    // What waits for the next start, this edit's or an earlier one's.
    return { ...diff, atNextStart: changedAtNextStart(this.#startConfig, next), listenerFailures };
  }

  /** Ends every session (MCP's shutdown for each server), closes the socket and removes it. */
  stop(reason = 'the daemon is stopping'): Promise<void> {
    this.#stopping ??= (async () => {
      this.#options.log('daemon.stopping', { reason, sessions: this.#sessions.size });
      await this.#watcher?.close();
      this.#expiry.stop();
      this.signIns.abandonAll(reason);
      await this.#rotation.stop();
      await Promise.all([...this.#sessions.all().map((s) => s.end(CLOSE.goingAway, `the daemon is stopping (${reason})`)), this.#pools.close()]);
      await Promise.all([closeServer(this.#server), this.#extra?.close()]);
      if (this.#options.binding.kind === 'path') await rm(this.#options.binding.path, { force: true });
      await this.#registry.close();
      await this.access.flush();
      this.refusals.stop();
      this.limitNotes.stop();
      this.audit.close();
      this.logs.close();
      this.#options.log('daemon.stopped', {});
      this.#resolveStopped();
    })();
    return this.#stopping;
  }

  /** Ends every session and control connection whose token was revoked, expired, or removed from the config; returns how many sessions. */
  async dropRevoked(): Promise<number> {
    for (const [ws, principal] of this.#controls) {
      // After the answer to the request that revoked it, which may have come on this very connection.
      if (!this.access.stillValid(principal)) setImmediate(() => ws.close(CLOSE.policy, 'the connection\'s client token was revoked or has expired'));
    }
    const gone = this.#sessions.unwanted((principal) => this.access.stillValid(principal));
    await Promise.all(gone.map((s) => s.end(CLOSE.policy, 'the session\'s client token was revoked or has expired')));
    return gone.length;
  }

  #newRegistry(config: Config): ProviderRegistry {
    return new ProviderRegistry(config.providers, {
      env: this.#options.env,
      note: (message) => this.#options.log('provider.note', { message }),
      warn: (message) => this.#options.log('provider.warning', { message }),
      cache: this.#options.clock ?? systemClock,
    });
  }

  async #watch(): Promise<void> {
    const { watch } = await import('chokidar');
    // Editors save by writing a new file and renaming it over the old: watch the path, not the inode.
    this.#watcher = watch(this.#options.configPath, { ignoreInitial: true, awaitWriteFinish: { stabilityThreshold: 100, pollInterval: 20 } });
    const reload = () => void this.reload().catch(() => {});
    this.#watcher.on('add', reload).on('change', reload).on('unlink', reload);
  }
}
