/**
 * The events of one HTTP session's SSE streams, kept so a client whose stream dropped can
 * reconnect with `Last-Event-ID` and get what it missed (the SDK transport's `EventStore`).
 * Memory is bounded per session: the oldest events go once there are more than `maxEvents` or
 * their bytes pass `maxBytes` (the newest is always kept, however large). A client that asks to
 * resume from an event gone from the store is refused by the transport (400), and starts over.
 *
 * Event ids are a counter: they need only be unique within the session, whose own id (random,
 * bound to its principal) is what keeps others out.
 */
import type { EventStore } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

interface Stored {
  readonly seq: number;
  readonly streamId: string;
  readonly message: JSONRPCMessage;
  readonly bytes: number;
}

export interface EventStoreLimits {
  readonly maxEvents: number;
  readonly maxBytes: number;
}

export const DEFAULT_EVENT_LIMITS: EventStoreLimits = { maxEvents: 1000, maxBytes: 8 * 1024 * 1024 };

export class BoundedEventStore implements EventStore {
  readonly #limits: EventStoreLimits;
  /** The size of a message as the server sent it, told by the link before it is stored (never re-serialised to learn it). */
  readonly #sizes: WeakMap<object, number>;
  #events: Stored[] = [];
  /** Index in #events of the first live event: evicted ones are dropped in batches, not shifted one by one. */
  #head = 0;
  #next = 1;
  #bytes = 0;

  constructor(sizes: WeakMap<object, number>, limits: EventStoreLimits = DEFAULT_EVENT_LIMITS) {
    this.#sizes = sizes;
    this.#limits = limits;
  }

  /** How many events are kept now. */
  get size(): number {
    return this.#events.length - this.#head;
  }

  storeEvent(streamId: string, message: JSONRPCMessage): Promise<string> {
    const seq = this.#next++;
    const bytes = this.#sizes.get(message) ?? 64;
    this.#events.push({ seq, streamId, message, bytes });
    this.#bytes += bytes;
    while (this.size > 1 && (this.size > this.#limits.maxEvents || this.#bytes > this.#limits.maxBytes)) {
      this.#bytes -= this.#events[this.#head]!.bytes;
      this.#head++;
    }
    if (this.#head > 256 && this.#head * 2 > this.#events.length) {
      this.#events = this.#events.slice(this.#head);
      this.#head = 0;
    }
    return Promise.resolve(String(seq));
  }

  getStreamIdForEventId(eventId: string): Promise<string | undefined> {
    return Promise.resolve(this.#find(eventId)?.streamId);
  }

  async replayEventsAfter(lastEventId: string, { send }: { send: (eventId: string, message: JSONRPCMessage) => Promise<void> }): Promise<string> {
    const last = this.#find(lastEventId);
    if (!last) return '';
    // A copy: sending may store new events meanwhile.
    const later = this.#events.slice(this.#head).filter((e) => e.seq > last.seq && e.streamId === last.streamId);
    // The priming event (an empty message that only carries an id) is not a message to replay.
    for (const event of later) if ('jsonrpc' in event.message) await send(String(event.seq), event.message);
    return last.streamId;
  }

  #find(eventId: string): Stored | undefined {
    if (!/^[1-9][0-9]{0,15}$/.test(eventId)) return undefined;
    const seq = Number(eventId);
    const first = this.#events[this.#head];
    if (!first || seq < first.seq) return undefined;
    const event = this.#events[this.#head + (seq - first.seq)];
    return event?.seq === seq ? event : undefined;
  }
}
