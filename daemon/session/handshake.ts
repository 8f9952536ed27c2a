/**
 * What a new server process must be told to be where the client believes the server is: the
 * client's `initialize` and `notifications/initialized`, and the requests that set up state on
 * the server (log level, subscriptions), recorded as the client sends them. A restart or a roll
 * replays them in order, each request under an id of mcpd's own so its answer, which the client
 * already had, is kept from the client.
 */
import { type Envelope, type Id, idKey, isRequest } from './envelope.js';

type Message = { jsonrpc?: string; id?: Id | null; method?: string; params?: unknown };

/** Client requests that set up server-side state, replayed in order. */
const REPLAYED = new Set(['logging/setLevel', 'resources/subscribe', 'resources/unsubscribe']);

export class Handshake {
  #initialize: Message | undefined;
  #initialized: Buffer | undefined;
  readonly #state: Message[] = [];
  /** Keys of replayed requests not answered yet. */
  readonly #pending = new Set<string>();
  #replays = 0;

  /** Keeps a client message if a new process must see it again (parsed only for those few). */
  record(envelope: Envelope, line: Buffer): void {
    if (isRequest(envelope)) {
      if (envelope.method === 'initialize') this.#initialize = JSON.parse(line.toString()) as Message;
      else if (REPLAYED.has(envelope.method!)) this.#state.push(JSON.parse(line.toString()) as Message);
    } else if (envelope.method === 'notifications/initialized') {
      this.#initialized = line;
    }
  }

  /** The lines to write to a new process, in order, and the key of its replayed initialize; nothing before the client initialized. */
  replay(): { lines: Array<Buffer | string>; initializeKey: string | undefined } {
    if (!this.#initialize) return { lines: [], initializeKey: undefined };
    const first = this.#replayed(this.#initialize);
    const lines = [first.line, ...(this.#initialized ? [this.#initialized] : []), ...this.#state.map((m) => this.#replayed(m).line)];
    return { lines, initializeKey: first.key };
  }

  /** Whether the answer with id key `key` is to a replayed request (the client must not see it). */
  isReplayed(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Whether some replayed request is still unanswered (its answer, however it starts, must be caught). */
  get awaiting(): boolean {
    return this.#pending.size > 0;
  }

  /** As isReplayed, and forgets the request: its answer has come. */
  answered(key: string): boolean {
    return this.#pending.delete(key);
  }

  #replayed(message: Message): { line: string; key: string } {
    const id = `mcpd-replay-${++this.#replays}`;
    const key = idKey(id);
    this.#pending.add(key);
    return { line: JSON.stringify({ ...message, id }), key };
  }
}
