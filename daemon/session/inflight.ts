/**
 * Client requests sent to the server and not yet answered, by id key; every way a request
 * leaves (its answer, the error mcpd sends for it when its process goes) is a delete, so one
 * waiter learns when the last has left: a stream whose input ended closes then.
 */
export class Inflight<V> extends Map<string, V> {
  #whenEmpty: (() => void) | undefined;

  override delete(key: string): boolean {
    const deleted = super.delete(key);
    if (deleted && this.size === 0) this.#emptied();
    return deleted;
  }

  /** Calls `done` once no request is in flight (now, if none is). */
  whenEmpty(done: () => void): void {
    this.#whenEmpty = done;
    if (this.size === 0) this.#emptied();
  }

  #emptied(): void {
    const done = this.#whenEmpty;
    this.#whenEmpty = undefined;
    done?.();
  }
}
