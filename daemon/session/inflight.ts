/**
 * Client requests sent to the server and not yet answered, by id key; every way a request
 * leaves (its answer, the error mcpd sends for it when its process goes) is a delete, so one
 * waiter learns when the last has left: a stream whose input ended closes then.
 */
import type { Clock } from '../../core/clock.js';

export class Inflight<V> extends Map<string, V> {
  #whenEmpty: (() => void) | undefined;

  override delete(key: string): boolean {
    const deleted = super.delete(key);
    if (deleted && this.size === 0) this.#whenEmpty?.();
    return deleted;
  }

  /**
   * Calls `done` once, when no request is in flight (now, if none is) or after `ms` on `clock`,
   * whichever comes first; returns what cancels the wait.
   */
  whenEmpty(done: () => void, clock: Clock, ms: number): () => void {
    const cancel = () => {
      clock.clearTimeout(bound);
      this.#whenEmpty = undefined;
    };
    const finish = () => {
      cancel();
      done();
    };
    const bound = clock.setTimeout(finish, ms);
    this.#whenEmpty = finish;
    if (this.size === 0) finish();
    return cancel;
  }
}
