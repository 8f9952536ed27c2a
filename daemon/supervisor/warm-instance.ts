/**
 * One pooled instance: a supervised process started before any session wanted it, handed to
 * the session that takes it as if that session had started it. Until then its events go to the
 * pool (`PoolEvents`); from the take on, to the session's listener. Anything the server writes on
 * stdout before it is taken (it should write nothing before its `initialize`) is kept and given
 * to the session first, as a process the session started would have given it.
 */
import { McpdError } from '../../core/errors.js';
import type { InstanceStatus, ServerState } from '../protocol.js';
import type { Instance, InstanceListener } from './instance.js';
import type { Prepared, ServerInstance } from './server-instance.js';

/** What the pool hears from an instance nobody has taken yet. */
export interface PoolEvents {
  /** A process is up (again, after a crash's backoff). */
  started(): void;
  /** A masked stderr line. */
  stderr(line: string): void;
  /** The process wrote on stdout before anyone sent it anything. */
  early(): void;
  crashed(reason: string): void;
  failed(reason: string): void;
  /** A lease ends soon: the instance should be replaced with fresh values. */
  expiring(reason: string): void;
}

/** Who the instance's audit records and status name: `pool` until a session takes it. */
export interface Owner {
  session: string;
}

export class WarmInstance implements ServerInstance {
  readonly #inner: Instance;
  readonly #owner: Owner;
  readonly #pool: PoolEvents;
  #taken: InstanceListener | undefined;
  #early: Buffer[] = [];

  constructor(make: (owner: Owner) => Instance, pool: PoolEvents) {
    this.#owner = { session: 'pool' };
    this.#inner = make(this.#owner);
    this.#pool = pool;
  }

  get state(): ServerState {
    return this.#inner.state;
  }

  get pid(): number | undefined {
    return this.#inner.pid;
  }

  get launch(): Prepared | undefined {
    return this.#inner.launch;
  }

  get taken(): boolean {
    return this.#taken !== undefined;
  }

  status(): InstanceStatus {
    return { ...this.#inner.status(), session: this.#owner.session };
  }

  /** Starts the process for the pool; rejects (McpdError) when its references or its spawn fail. */
  boot(): Promise<void> {
    return this.#inner.start(this.#relay());
  }

  /** Hands the running process to session `session`, which writes its `initialize` next. */
  take(session: string): this {
    this.#owner.session = session;
    return this;
  }

  /** The session attaches: from here on it hears everything, starting with what the server already wrote. */
  async start(listener: InstanceListener): Promise<void> {
    if (this.#inner.state !== 'running' || this.#taken) {
      throw new McpdError('INTERNAL', `pooled instance of session ${this.#owner.session} is ${this.#taken ? 'already taken' : this.#inner.state}, not running`);
    }
    this.#taken = listener;
    const early = this.#early;
    this.#early = [];
    listener.started(false);
    for (const line of early) listener.message(line);
  }

  write(line: Buffer | string): boolean {
    return this.#inner.write(line);
  }

  pauseOutput(): void {
    this.#inner.pauseOutput();
  }

  resumeOutput(): void {
    this.#inner.resumeOutput();
  }

  restart(reason: string): Promise<void> {
    return this.#inner.restart(reason);
  }

  stop(): Promise<void> {
    return this.#inner.stop();
  }

  /** The listener the process is wired to: the pool's until taken, the session's after. */
  #relay(): InstanceListener {
    const pool = this.#pool;
    return {
      message: (line) => {
        if (this.#taken) return this.#taken.message(line);
        this.#early.push(line);
        pool.early();
      },
      // Before the take a long line waits whole, like any other: the session decides how to pass it on.
      long: (head) => this.#taken?.long?.(head),
      stderr: (line) => (this.#taken ? this.#taken.stderr(line) : pool.stderr(line)),
      started: (restart) => (this.#taken ? this.#taken.started(restart) : pool.started()),
      crashed: (info) => (this.#taken ? this.#taken.crashed(info) : pool.crashed(`exited with status ${info.exitCode}`)),
      failed: (reason, info) => (this.#taken ? this.#taken.failed(reason, info) : pool.failed(reason)),
      drain: () => this.#taken?.drain(),
      expiring: (reason) => (this.#taken ? this.#taken.expiring(reason) : pool.expiring(reason)),
      notice: (notice) => this.#taken?.notice?.(notice) ?? false,
    };
  }
}
