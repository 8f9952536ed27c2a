/**
 * The daemon's events as they happen, for `mcpd events`: every line the daemon logs (sessions
 * opened and closed, restarts, reloads, rotation steps, refusals) is also handed to each
 * subscriber. The log never holds a value, so neither does a subscriber.
 */
import type { Logger } from './log.js';
import type { DaemonEvent } from './protocol.js';

export class EventFeed {
  readonly #subscribers = new Set<(event: DaemonEvent) => void>();

  /** A Logger that writes to `log` and then tells every subscriber. */
  tap(log: Logger): Logger {
    return (event, fields = {}) => {
      log(event, fields);
      if (this.#subscribers.size === 0) return;
      const record: DaemonEvent = { time: new Date().toISOString(), event, ...fields };
      for (const subscriber of this.#subscribers) {
        try {
          subscriber(record);
        } catch {
          // One subscriber's failure must not cost the log its line or the others their event.
        }
      }
    };
  }

  /** Calls `subscriber` with each event from now on; returns the unsubscribe. */
  subscribe(subscriber: (event: DaemonEvent) => void): () => void {
    this.#subscribers.add(subscriber);
    return () => this.#subscribers.delete(subscriber);
  }
}
