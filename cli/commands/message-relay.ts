/**
 * A session with a daemon from before streams (no `mcpd-stream: 1` in its 101: one still
 * running after an upgrade): one JSON-RPC message per WebSocket text message, so the lines are
 * split here, and the answers still owed when stdin ends are tracked here (with a stream, the
 * daemon does both: run-session.ts).
 */
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { CLOSE, DEFAULT_MAX_MESSAGE_BYTES } from '../../daemon/protocol.js';
import { type Envelope, envelopeOf, idKey, isRequest, readHead } from '../../daemon/session/envelope.js';
import { PartsEnvelope } from '../../daemon/session/parts-envelope.js';
import { LineSplitter, LineTooLong, wellFormed } from '../../daemon/session/framing.js';
import { corkedPerTick } from '../../daemon/session/tick-cork.js';
import { readFramesOf } from './session-frames.js';
import { type StdoutWrite, throttleStdin } from './session-io.js';

/** Relays stdin and stdout over `ws`, one message per line. */
export function relayMessages(ws: WebSocket, write: StdoutWrite, binary: (message: Buffer) => void): void {
  const pending = new PendingRequests();
  relayStdin(ws, pending);
  relayToStdout(ws, pending, write, binary);
}

/**
 * Requests sent and not yet answered. On a pipe, stdin may end right after the last request
 * (`printf … | mcpd run x`): as with a server on a pipe, its answers must still arrive, so the
 * session is closed once they have (or after a bound).
 */
class PendingRequests {
  readonly #ids = new Set<string>();
  #onIdle: (() => void) | undefined;

  sent(line: Buffer): void {
    const id = idOf(line, true);
    if (id !== undefined) this.#ids.add(id);
  }

  answered(line: Buffer): void {
    this.answeredBy(envelopeOf(line));
  }

  /** A response, by its envelope (from its head, for one passed on as it arrives). */
  answeredBy(envelope: Envelope | undefined): void {
    const id = idOfEnvelope(envelope, false);
    if (id !== undefined && this.#ids.delete(id) && this.#ids.size === 0) this.#onIdle?.();
  }

  /** Calls `done` once nothing is pending, or after `ms`. */
  whenIdle(ms: number, done: () => void): void {
    if (this.#ids.size === 0) return done();
    const timer = setTimeout(done, ms);
    this.#onIdle = () => {
      clearTimeout(timer);
      done();
    };
  }
}

/** The id key of a request (`request`) or of a response; undefined for anything else. */
function idOf(line: Buffer, request: boolean): string | undefined {
  return idOfEnvelope(envelopeOf(line), request);
}

function idOfEnvelope(envelope: Envelope | undefined, request: boolean): string | undefined {
  if (!envelope || envelope.id === undefined || envelope.id === null) return undefined;
  return isRequest(envelope) === request ? idKey(envelope.id) : undefined;
}

/** A message this long is passed to stdout as it arrives. */
const STREAM_FROM = 64 * 1024;

/**
 * The daemon's messages to our stdout, one line each, as their bytes came (no decoding, no copy
 * to add the newline). A long one goes out piece by piece while the rest is on its way; when its
 * head does not give its id (the MCP SDK writes it after the result), the id is read from the
 * pieces as they go by (parts-envelope.ts).
 */
function relayToStdout(ws: WebSocket, pending: PendingRequests, write: StdoutWrite, binary: (message: Buffer) => void): void {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let streaming = false;
  let head: Envelope | undefined;
  let reader: PartsEnvelope | undefined;
  const text = (part: Buffer, first: boolean, last: boolean) => {
    if (first) [held, heldBytes, streaming, head, reader] = [[], 0, false, undefined, undefined];
    if (streaming) {
      write(part, last);
      reader?.push(part);
      // Answered once all of it is out: stdin's EOF may close the session as soon as nothing is pending.
      if (last) pending.answeredBy(head ?? reader?.envelope());
      return;
    }
    held.push(part);
    heldBytes += part.length;
    if (last) {
      const whole = held.length === 1 ? held[0]! : Buffer.concat(held, heldBytes);
      held = [];
      pending.answered(whole);
      write(whole, true);
    } else if (heldBytes >= STREAM_FROM) {
      const bytes = Buffer.concat(held, heldBytes);
      head = readHead(bytes);
      if (!head) (reader = new PartsEnvelope()).push(bytes);
      streaming = true;
      held = [];
      write(bytes, false);
    }
  };
  // Frames read here as they arrive; if ws cannot be taken over, its whole messages.
  if (readFramesOf(ws, { text, binary })) return;
  ws.on('message', (data: Buffer, isBinary) => (isBinary ? binary(data) : text(data, true, true)));
}

const DRAIN_ON_EOF_MS = 30_000;

/** Reads our stdin a line at a time into WebSocket messages; EOF closes the session once pending answers are in. */
function relayStdin(ws: WebSocket, pending: PendingRequests): void {
  // ws keeps its connection private; corked, the frames of a pipelined burst leave in one writev.
  const socket = (ws as unknown as { _socket?: Socket })._socket;
  const corked = socket ? corkedPerTick(socket) : { cork() {} };
  const splitter = new LineSplitter({ maxBytes: DEFAULT_MAX_MESSAGE_BYTES }, {
    line: (line) => {
      if (ws.readyState !== WebSocket.OPEN) return;
      // A text frame must be UTF-8: bad sequences become U+FFFD, as decoding them would.
      const text = wellFormed(line);
      pending.sent(text);
      corked.cork();
      ws.send(text, { binary: false });
    },
  });
  process.stdin.on('data', (chunk: Buffer) => {
    try {
      splitter.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLong)) throw error;
      process.stderr.write(`mcpd: a message on stdin is longer than ${error.maxBytes} bytes; closing the session\n`);
      ws.close(CLOSE.tooBig, 'message too big');
      return;
    }
    throttleStdin(ws);
  });
  process.stdin.once('end', () => pending.whenIdle(DRAIN_ON_EOF_MS, () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE.normal, 'stdin closed');
  }));
}

