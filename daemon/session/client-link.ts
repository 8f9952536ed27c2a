/**
 * The client side of a session, as the session needs it: a WebSocket in the daemon
 * (server/ws-link.ts), an HTTP exchange in the gateway (gateway/http-link.ts), an array in tests.
 */
import type { ClientNotice } from '../supervisor/instance.js';

export interface ClientLink {
  /** One message, as UTF-8 text. */
  send(message: Buffer | string): void;
  /** One message in pieces as they arrive (a WebSocket message in fragments); nothing else is sent between its first and its last piece. */
  sendPart(part: Buffer, last: boolean): void;
  /** Masked server stderr, for clients that asked for it. */
  sendStderr?(line: string): void;
  /** A notice for the client's process, for clients that asked for notices; false (or absent) when it cannot take one. */
  sendNotice?(notice: ClientNotice): boolean;
  /** Bytes queued toward the client and not yet written. */
  readonly bufferedAmount: number;
  /** Calls back once the queued bytes have been written. */
  onFlushed(callback: () => void): void;
  pause(): void;
  resume(): void;
  close(code: number, reason: string): void;
  /** The transport counts each client request against the subject's rate itself (the HTTP gateway answers 429): the gate then counts none. */
  readonly countsRequests?: boolean;
}
