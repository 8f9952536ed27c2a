/**
 * A stream session's input (`&stream=1`, mcpd run: daemon/protocol.ts): the client's stdin as
 * it read it, in binary messages cut anywhere, split here into the lines a stdio server reads.
 * An empty binary message says the client's stdin ended: the session closes once every request
 * sent before it has its answer, so `printf … | mcpd run x` still gets them.
 *
 * The lines are what the client would have sent one per text message: each is read and judged
 * whole (Session.fromClient); a line longer than the daemon's limit ends the input there, and
 * the session then closes with 1009 as a message over the limit would, once the requests
 * before it are answered; a last line without its newline is not a message.
 */
import { CLOSE } from '../protocol.js';
import { LineSplitter, LineTooLong } from '../session/framing.js';
import type { Session } from '../session/session.js';

/** What a stream input needs of its connection. */
export interface StreamEnds {
  close(code: number, reason: string): void;
  /** Logs a protocol error (never a value). */
  note(event: string, fields: Record<string, unknown>): void;
}

/** The handler for a stream session's WebSocket messages. */
export function streamInput(session: Pick<Session, 'id' | 'server' | 'fromClient' | 'inputEnded'>, maxBytes: number, ends: StreamEnds): (data: Buffer, isBinary: boolean) => void {
  const lines = new LineSplitter({ maxBytes }, { line: (line) => session.fromClient(line) });
  let ended = false;
  return (data, isBinary) => {
    if (ended) return;
    if (!isBinary) {
      ended = true;
      ends.note('session.refused-text', { session: session.id, server: session.server });
      return ends.close(CLOSE.unsupportedData, 'a stream session takes its input as binary messages: the bytes of stdin, cut anywhere');
    }
    if (data.length === 0) {
      ended = true;
      return session.inputEnded();
    }
    try {
      lines.push(data);
    } catch (error) {
      if (!(error instanceof LineTooLong)) throw error;
      ended = true;
      ends.note('session.message-too-big', { session: session.id, server: session.server, maxBytes });
      // The input ends there; what was sent before it still gets its answers.
      session.inputEnded(CLOSE.tooBig, `a message on stdin is longer than ${maxBytes} bytes (daemon.maxMessageBytes)`);
    }
  };
}
