/**
 * One supervised server process behind one session, as an explicit state machine:
 *
 *   stopped ──start──▶ starting ──spawned──▶ running ──exit──▶ restarting ──backoff──▶ starting
 *                         │                    │                  │
 *                         └──(first start fails: the session is refused)   └──too many──▶ failed
 *   any state ──stop──▶ stopped
 *
 * A crash is restarted after 5 s, doubling to 60 s; a run of 30 s counts as stable and resets
 * the count; more than 5 restarts without a stable run marks the instance failed (README
 * "Running servers"). Each start resolves the server's references afresh. Clock and spawning are
 * injected, so the whole schedule is tested in milliseconds against a fake process.
 */
import { McpdError } from '../../core/errors.js';
import type { Clock, ClockTimer } from '../../core/clock.js';
import type { ExitInfo, ServerProcess, StartChild, StopOptions } from '../launcher/child.js';
import type { PreparedLaunch } from '../launcher/launch-spec.js';
import type { HeldLease, LeaseKeeper } from './leases.js';
import { prepareStart } from './server-instance.js';
import type { InstanceStatus, ServerState } from '../protocol.js';
import { LineSplitter, LineTooLong, type LongLine } from '../session/framing.js';
import { corkedPerTick } from '../session/tick-cork.js';

export interface BackoffPolicy {
  readonly initialMs: number;
  readonly maxMs: number;
  /** A process that ran this long resets the crash count. */
  readonly stableMs: number;
  /** Restarts allowed without a stable run before the instance is marked failed. */
  readonly maxRestarts: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 5000, maxMs: 60_000, stableMs: 30_000, maxRestarts: 5 };

/** What the session hears from its instance. */
export interface InstanceListener {
  /** A JSON-RPC message (one stdout line, its bytes as the server wrote them) from the server. */
  message(line: Buffer): void;
  /** A stdout line that reached STREAM_FROM bytes before its end: a LongLine takes the rest as it comes, undefined waits for the whole line. */
  long?(head: Buffer): LongLine | undefined;
  /** A masked stderr line, without its newline. */
  stderr(line: string): void;
  /** A process is up. After a restart, the session replays the client's handshake before anything else. */
  started(restart: boolean): void;
  /** The process exited on its own; a restart follows unless `failed` comes next. */
  crashed(info: ExitInfo): void;
  /** The instance will not come back: crash loop, or a message over the size limit. */
  failed(reason: string, info: ExitInfo | undefined): void;
  /** stdin can take more after write() returned false. */
  drain(): void;
  /** A lease of the running process ends soon and cannot be renewed: it should get fresh values. */
  expiring(reason: string): void;
  /** Something for the user's process to act on (a sign-in URL to open); false when the client cannot take notices. */
  notice?(notice: ClientNotice): boolean;
}

/** A notice to the process a session's client runs in (`mcpd run`): today, a sign-in to open in the browser. */
export interface ClientNotice {
  readonly type: 'authorize';
  readonly server: string;
  readonly url: string;
  readonly reason?: string;
}

/** Keeps one process's leases: made for each process started, revoked once it has ended. */
export type KeepLeases = (leases: readonly HeldLease[], ending: (ref: string, at: number, why: string) => void) => Pick<LeaseKeeper, 'revokeAll' | 'status'>;

/** A line this long without its end yet may be passed on as it arrives (see LineHandler.long). */
export const STREAM_FROM = 64 * 1024;
const NEWLINE = Buffer.from('\n');

export interface InstanceDeps {
  readonly session: string;
  readonly prepare: () => Promise<PreparedLaunch>;
  readonly start: StartChild;
  readonly keepLeases: KeepLeases;
  readonly clock: Clock;
  readonly backoff: BackoffPolicy;
  readonly maxMessageBytes: number;
  readonly stop?: StopOptions;
}

const TRANSITIONS: Record<ServerState, readonly ServerState[]> = {
  stopped: ['starting'],
  starting: ['running', 'restarting', 'failed', 'stopped'],
  running: ['restarting', 'failed', 'stopped'],
  restarting: ['starting', 'failed', 'stopped'],
  failed: ['stopped'],
};

export class Instance {
  #state: ServerState = 'stopped';
  #child: ServerProcess | undefined;
  /** The current process's leases. */
  #leases: ReturnType<KeepLeases> | undefined;
  /** Bumped for every process, so a late event from an old one is ignored. */
  #generation = 0;
  #startedAt: number | undefined;
  #crashes = 0;
  #restarts = 0;
  #lastError: string | undefined;
  #timer: ClockTimer | undefined;
  #listener: InstanceListener | undefined;
  /** Ends the current process's stdout framing (a line being passed on ends cut off). */
  #endOutput: (() => void) | undefined;
  /** The current process's stdin, corked per tick. */
  #stdinCork: { cork(): void } | undefined;
  /** What the current process was started with (its env, to compare with fresh values). */
  #launch: PreparedLaunch | undefined;
  readonly #deps: InstanceDeps;

  constructor(deps: InstanceDeps) {
    this.#deps = deps;
  }

  get state(): ServerState {
    return this.#state;
  }

  get pid(): number | undefined {
    return this.#state === 'running' ? this.#child?.pid : undefined;
  }

  /** The launch the running process was started with; undefined when none runs. */
  get launch(): PreparedLaunch | undefined {
    return this.#state === 'running' ? this.#launch : undefined;
  }

  status(): InstanceStatus {
    const since = this.#state === 'running' && this.#startedAt !== undefined ? new Date(this.#startedAt).toISOString() : undefined;
    const leases = this.#state === 'running' ? this.#leases?.status() ?? [] : [];
    return { session: this.#deps.session, state: this.#state, pid: this.pid, since, restarts: this.#restarts, lastError: this.#lastError, leases };
  }

  /** The first start; rejects (McpdError) when the references or the spawn fail, so the session can be refused. */
  async start(listener: InstanceListener): Promise<void> {
    this.#listener = listener;
    this.#to('starting');
    try {
      await this.#spawn(false);
    } catch (error) {
      if (this.#state === 'starting') this.#to('failed');
      throw error;
    }
  }

  /** Writes one message; false means wait for the listener's drain(). Only while running. */
  write(line: Buffer | string): boolean {
    const stdin = this.#child?.stdin;
    if (this.#state !== 'running' || !stdin || stdin.destroyed) return true;
    // Messages written in one tick (a pipelined burst) leave in one writev, without copying each to add its newline.
    this.#stdinCork?.cork();
    stdin.write(line);
    return stdin.write(NEWLINE);
  }

  pauseOutput(): void {
    this.#child?.stdout?.pause();
  }

  resumeOutput(): void {
    this.#child?.stdout?.resume();
  }

  /** Replaces the process now (`mcpd restart`, a changed definition); not counted as a crash. */
  async restart(reason: string): Promise<void> {
    if (this.#state !== 'running' && this.#state !== 'restarting') return;
    this.#cancelTimer();
    this.#lastError = reason;
    // Already 'restarting' while a crash waits out its backoff: start now instead.
    if (this.#state === 'running') this.#to('restarting');
    const old = this.#child;
    this.#generation += 1; // the old process's exit is expected now
    this.#cutOutput();
    await old?.stop(this.#deps.stop);
    if (this.#state !== 'restarting') return;
    this.#restarts += 1;
    this.#to('starting');
    await this.#spawn(true).catch((error: unknown) => this.#crashedAtStart(error));
  }

  /** MCP's shutdown of the current process; the instance ends in `stopped`. */
  async stop(): Promise<void> {
    this.#cancelTimer();
    if (this.#state !== 'stopped') this.#to('stopped');
    this.#generation += 1;
    this.#cutOutput();
    const child = this.#child;
    const leases = this.#leases;
    this.#child = undefined;
    await child?.stop(this.#deps.stop);
    await leases?.revokeAll();
  }

  async #spawn(restart: boolean): Promise<void> {
    const generation = ++this.#generation;
    const current = () => generation === this.#generation;
    const started = await prepareStart(this.#deps, current, (reason) => this.#state === 'running' && this.#listener?.expiring(reason));
    if (!started) return;
    const { spec, leases } = started;
    let child: ServerProcess;
    try {
      child = await this.#deps.start(spec, { stdin: 'pipe', stdout: 'pipe', stop: this.#deps.stop });
    } catch (error) {
      await leases.revokeAll();
      throw error;
    }
    // However the process ends (exit, crash, restart, stop), its credentials go with it.
    void child.exited.then(() => leases.revokeAll());
    if (!current()) {
      void child.stop(this.#deps.stop);
      return;
    }
    this.#child = child;
    this.#stdinCork = child.stdin && corkedPerTick(child.stdin);
    this.#leases = leases;
    this.#launch = spec;
    this.#startedAt = this.#deps.clock.now();
    this.#wire(child, generation);
    this.#to('running');
    this.#listener?.started(restart);
  }

  #wire(child: ServerProcess, generation: number): void {
    const current = () => generation === this.#generation;
    const listener = this.#listener!;
    const splitter = new LineSplitter({ maxBytes: this.#deps.maxMessageBytes, streamFrom: STREAM_FROM }, {
      line: (line) => current() && listener.message(line),
      long: (head) => (current() ? listener.long?.(head) : undefined),
    });
    this.#endOutput = () => splitter.abort();
    child.stdout!.on('data', (chunk: Buffer) => {
      if (!current()) return;
      try {
        splitter.push(chunk);
      } catch (error) {
        if (!(error instanceof LineTooLong)) throw error;
        this.#fail(`the server sent ${error.message} (the limit is daemon.maxMessageBytes)`, undefined);
      }
    });
    child.stdout!.on('end', () => current() && this.#cutOutput());
    child.stdin?.on('drain', () => current() && listener.drain());
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (text: string) => {
      const lines = (partial + text).split('\n');
      partial = lines.pop()!;
      for (const line of lines) listener.stderr(line);
    });
    child.stderr.on('end', () => partial && listener.stderr(partial));
    void child.exited.then((info) => {
      if (current()) this.#exited(info);
    });
  }

  #exited(info: ExitInfo): void {
    this.#child = undefined;
    this.#lastError = `exited with status ${info.exitCode}`;
    this.#listener?.crashed(info);
    const ranFor = this.#deps.clock.now() - (this.#startedAt ?? 0);
    if (ranFor >= this.#deps.backoff.stableMs) this.#crashes = 0;
    this.#scheduleRestart(info);
  }

  #crashedAtStart(error: unknown): void {
    if (this.#state !== 'starting') return;
    this.#lastError = error instanceof McpdError ? error.message : String(error);
    this.#scheduleRestart(undefined);
  }

  #scheduleRestart(info: ExitInfo | undefined): void {
    const { initialMs, maxMs, maxRestarts } = this.#deps.backoff;
    this.#crashes += 1;
    if (this.#crashes > maxRestarts) {
      this.#fail(`it crashed ${this.#crashes} times without running ${this.#deps.backoff.stableMs / 1000} s (last: ${this.#lastError})`, info);
      return;
    }
    this.#to('restarting');
    const delay = Math.min(initialMs * 2 ** (this.#crashes - 1), maxMs);
    this.#timer = this.#deps.clock.setTimeout(() => {
      this.#timer = undefined;
      this.#restarts += 1;
      this.#to('starting');
      this.#spawn(true).catch((error: unknown) => this.#crashedAtStart(error));
    }, delay);
  }

  #fail(reason: string, info: ExitInfo | undefined): void {
    this.#cancelTimer();
    this.#lastError = reason;
    this.#to('failed');
    this.#generation += 1;
    this.#cutOutput();
    const child = this.#child;
    this.#child = undefined;
    void child?.stop(this.#deps.stop);
    this.#listener?.failed(reason, info);
  }

  #cutOutput(): void {
    const end = this.#endOutput;
    this.#endOutput = undefined;
    end?.();
  }

  #cancelTimer(): void {
    if (this.#timer) this.#deps.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #to(next: ServerState): void {
    if (!TRANSITIONS[this.#state].includes(next)) {
      throw new McpdError('INTERNAL', `server instance ${this.#deps.session}: no transition from ${this.#state} to ${next}`);
    }
    this.#state = next;
  }
}
