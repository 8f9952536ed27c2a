/**
 * A session's server→client path: what the current instance writes, passed on to the client
 * message for message (a long line in parts as it arrives), except the answers to replayed
 * requests, which the client never sees. A client that reads slowly pauses reading the
 * server's stdout.
 */
import type { GateMessage } from '../policy/gate.js';
import type { ServerInstance } from '../supervisor/server-instance.js';
import { type Envelope, envelopeOf, idKey, isRequest, isResponse, readHead } from './envelope.js';
import { type LongLine, Utf8Parts, wellFormed } from './framing.js';
import { PartsEnvelope } from './parts-envelope.js';
import type { Handshake } from './handshake.js';
import type { SessionRollHost } from './roll-host.js';
import type { SessionDeps } from './session.js';

/** Above this many bytes queued toward the client, the server's stdout is paused. */
const HIGH_WATER = 1024 * 1024;

/** The session's state the server→client path reads and settles. */
export interface OutputState {
  readonly handshake: Handshake;
  /** Client requests sent to the server and not yet answered, by id key: an answer deletes its own. */
  readonly inflight: Map<string, unknown>;
  /** Requests from the server to the client not yet answered, by id key: one that reached the client is added. */
  readonly serverRequests: Set<string>;
  /** The instance serving the client. */
  current(): ServerInstance;
  /** Told when a replayed request is answered (a warming roll waits for its initialize's) and when a client request is (a draining roll may switch). */
  readonly roll: Pick<SessionRollHost, 'replayAnswered' | 'checkIdle'>;
}

export class ServerOutput {
  readonly #deps: SessionDeps;
  readonly #state: OutputState;
  #outputPaused = false;

  constructor(deps: SessionDeps, state: OutputState) {
    this.#deps = deps;
    this.#state = state;
  }

  fromServer(line: Buffer): void {
    const envelope = envelopeOf(line);
    if (!envelope) {
      // A server that logs to stdout would break the client's parser: keep it in the log instead.
      this.#deps.log(`[stdout, not JSON-RPC] ${line.toString()}`);
      return;
    }
    if (!this.#passes(envelope)) return;
    const gate = this.#deps.gate;
    if (gate && isResponse(envelope) && gate.needs(envelope.id!) === 'whole') {
      // A list result the policy filters: the whole message is needed.
      const text = line.toString();
      this.#deps.link.send(gate.fromServer(JSON.parse(text) as GateMessage, text));
    } else {
      this.#deps.link.send(wellFormed(line));
    }
    this.#settled(envelope);
    this.#throttle();
  }

  /**
   * A long server line, from its head: passed on as it arrives, and its envelope read once its
   * last byte is in. A head that does not say what the line is (the MCP SDK writes the id after
   * the result) is passed on too, unless an answer the client must not see (a replayed
   * request's) or one the policy filters is in flight: then it is left to arrive whole.
   */
  longFromServer(head: Buffer): LongLine | undefined {
    const envelope = readHead(head);
    const handshake = this.#state.handshake;
    if (!envelope) return mayBeMessage(head) && !handshake.awaiting && !this.#deps.gate?.filtering ? this.#passOn(undefined) : undefined;
    const key = isResponse(envelope) ? idKey(envelope.id!) : undefined;
    // Kept from the client like a whole one (#passes tells a waiting roll too).
    if (key !== undefined && handshake.isReplayed(key)) return { part: () => {}, end: (complete) => complete && this.#passes(envelope) };
    const needs = key !== undefined ? this.#deps.gate?.needs(envelope.id!) : undefined;
    if (needs === 'whole') return undefined;
    // Read whole at the end: a tool call's outcome, and a message with a method whose id may come after it.
    return this.#passOn(needs === 'outcome' || (envelope.method !== undefined && envelope.id === undefined) ? undefined : envelope);
  }

  /** A warming instance's output: only the answers to its replayed handshake; the old instance still speaks for the server. */
  fromWarming(line: Buffer): void {
    const envelope = envelopeOf(line);
    if (envelope && isResponse(envelope)) this.#passes(envelope);
  }

  /**
   * Passes a long line on in parts. Without `head` (the envelope it needs), its envelope is read
   * from the parts as they go by (parts-envelope.ts). One the scan cannot be sure of is not
   * parsed (that would mean keeping the whole line): it counts as not JSON-RPC.
   */
  #passOn(head: Envelope | undefined): LongLine {
    const utf8 = new Utf8Parts();
    const reader = head ? undefined : new PartsEnvelope();
    return {
      part: (bytes) => {
        reader?.push(bytes);
        this.#deps.link.sendPart(utf8.take(bytes), false);
        this.#throttle();
      },
      end: (complete) => {
        this.#deps.link.sendPart(utf8.flush(), true);
        // Cut off, the request stays in flight: the crash or restart that cut it answers it with an error.
        if (!complete) return;
        const envelope = reader ? reader.envelope() : head;
        if (!envelope) return this.#deps.note('the server wrote a long line on stdout that is not JSON-RPC; it was passed on as it came');
        if (this.#passes(envelope)) this.#settled(envelope);
      },
    };
  }

  /** What a server message that reached the client leaves: a request of the server's to answer, a tool call's outcome. */
  #settled(envelope: Envelope): void {
    if (isRequest(envelope)) this.#state.serverRequests.add(idKey(envelope.id!));
    else if (isResponse(envelope)) this.#deps.gate?.answered(envelope.id!, envelope.outcome ?? 'ok');
  }

  /**
   * Where each server message's envelope is known: false for an answer to a replayed request,
   * which the client must not see. A response's request (and its method) is
   * `inflight.get(key)` until it is deleted here.
   */
  #passes(envelope: Envelope): boolean {
    if (!isResponse(envelope)) return true;
    const key = idKey(envelope.id!);
    if (this.#state.handshake.answered(key)) {
      this.#state.roll.replayAnswered(key);
      return false;
    }
    if (this.#state.inflight.delete(key)) this.#state.roll.checkIdle();
    return true;
  }

  /** Above HIGH_WATER queued toward the client, the server's stdout waits for the client to catch up. */
  #throttle(): void {
    if (!this.#outputPaused && this.#deps.link.bufferedAmount > HIGH_WATER) {
      this.#outputPaused = true;
      this.#state.current().pauseOutput();
      this.#deps.link.onFlushed(() => {
        this.#outputPaused = false;
        this.#state.current().resumeOutput();
      });
    }
  }
}

/** Whether a line may be a JSON-RPC message: it opens an object. */
function mayBeMessage(head: Buffer): boolean {
  for (const byte of head) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return byte === 0x7b;
  return false;
}
