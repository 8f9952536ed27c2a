/**
 * The session's side of a roll (rollover.ts decides when): the new instance while it warms up
 * beside the current one, new client requests held while the old instance drains, and the switch.
 */
import type { ServerInstance } from '../supervisor/server-instance.js';
import type { RollHost } from './rollover.js';

/** What the roll host needs of its session. */
export interface RollSession extends Pick<RollHost, 'server' | 'current' | 'note' | 'close'> {
  /** Starts `instance` with the session listening to it. */
  start(instance: ServerInstance): Promise<void>;
  /** Writes the client's handshake to `instance`; returns the key of the replayed initialize. */
  replay(instance: ServerInstance): string | undefined;
  /** Whether anything is in flight on the current instance, either way (held requests never reached it). */
  busy(): boolean;
  /** Forgets the server's requests and answers the client's in flight on the current instance (not the held ones) with errors. */
  failInflight(message: string): void;
  /** Makes `next` current, forgets the server's requests, and sends `next` the held messages if it runs; returns the old instance. */
  switchTo(next: ServerInstance): ServerInstance;
}

export class SessionRollHost implements RollHost {
  readonly #session: RollSession;
  /** A roll's new instance while it warms up, and what it reports to. */
  #next: { instance: ServerInstance; answered: () => void; failed: (error: Error) => void } | undefined;
  /** While a roll drains the old instance: new client requests are held. */
  #holding = false;
  /** Replayed requests whose answer a roll waits for, by id key. */
  readonly #replayWaiters = new Map<string, () => void>();
  /** Called once nothing is in flight either way, while a roll drains. */
  #idle: (() => void) | undefined;

  constructor(session: RollSession) {
    this.#session = session;
  }

  get server(): string {
    return this.#session.server;
  }

  current(): ServerInstance {
    return this.#session.current();
  }

  note(message: string): void {
    this.#session.note(message);
  }

  close(reason: string): Promise<void> {
    return this.#session.close(reason);
  }

  warmUp(next: ServerInstance): Promise<void> {
    return new Promise<void>((answered, failed) => {
      this.#next = { instance: next, answered, failed };
      this.#session.start(next).catch(failed);
    });
  }

  hold(): Promise<void> {
    this.#holding = true;
    return new Promise<void>((resolve) => {
      this.#idle = resolve;
      this.checkIdle();
    });
  }

  failInflight(message: string): void {
    this.#idle = undefined;
    this.#session.failInflight(message);
  }

  switchTo(next: ServerInstance): ServerInstance {
    this.#next = undefined;
    this.#holding = false;
    this.#idle = undefined;
    return this.#session.switchTo(next);
  }

  abandon(next: ServerInstance): void {
    if (this.#next?.instance === next) this.#next = undefined;
  }

  /** Whether new client requests wait for the next instance (a roll drains the current one). */
  get holding(): boolean {
    return this.#holding;
  }

  /** Whether `instance` is a roll's new instance, warming up. */
  warming(instance: ServerInstance): boolean {
    return this.#next?.instance === instance;
  }

  /** The warming instance has started: it is told the handshake, and is ready once its initialize is answered. */
  started(instance: ServerInstance): void {
    const key = this.#session.replay(instance);
    if (key === undefined) this.#next!.answered();
    else this.#replayWaiters.set(key, this.#next!.answered);
  }

  /** The warming instance will not be ready. */
  warmingFailed(error: Error): void {
    this.#next!.failed(error);
  }

  /** The answer to a replayed request has come. */
  replayAnswered(key: string): void {
    this.#replayWaiters.get(key)?.();
    this.#replayWaiters.delete(key);
  }

  /** The session is over: the warming instance, if any, for the session to stop, and forgotten. */
  takeNext(): ServerInstance | undefined {
    const next = this.#next?.instance;
    this.#next = undefined;
    return next;
  }

  /** Nothing in flight on the current instance, either way: a draining roll may switch. */
  checkIdle(): void {
    if (!this.#idle || this.#session.busy()) return;
    const idle = this.#idle;
    this.#idle = undefined;
    idle();
  }
}
