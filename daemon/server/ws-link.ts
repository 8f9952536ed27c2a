/**
 * A session's client side over a WebSocket: text messages are JSON-RPC; binary messages from
 * the daemon carry the server's stderr, for clients that asked for it (`?stderr=1`).
 */
import { WebSocket } from 'ws';
import type { ClientLink } from '../session/session.js';

/** WebSocket close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}...`;
}

/**
 * The session exists before the WebSocket does: the server is started before the upgrade, so a
 * failure can still be refused with an HTTP status. Whatever the server sends meanwhile waits here.
 */
export class WebSocketLink implements ClientLink {
  #ws: WebSocket | undefined;
  #early: Array<() => void> = [];
  readonly sendStderr: ((line: string) => void) | undefined;

  constructor(withStderr: boolean) {
    this.sendStderr = withStderr ? (line) => this.#do((ws) => ws.send(Buffer.from(`${line}\n`), { binary: true })) : undefined;
  }

  attach(ws: WebSocket): void {
    this.#ws = ws;
    for (const run of this.#early.splice(0)) run();
  }

  send(message: string): void {
    this.#do((ws) => ws.send(message));
  }

  get bufferedAmount(): number {
    return this.#ws?.bufferedAmount ?? 0;
  }

  onFlushed(callback: () => void): void {
    // Frames are written in order, so a ping's write callback fires once everything queued before it is out.
    const ws = this.#ws;
    if (ws?.readyState !== WebSocket.OPEN) callback();
    else ws.ping(undefined, undefined, () => callback());
  }

  pause(): void {
    this.#ws?.pause();
  }

  resume(): void {
    this.#ws?.resume();
  }

  close(code: number, reason: string): void {
    this.#do((ws) => ws.close(code, closeReason(reason)), true);
  }

  #do(action: (ws: WebSocket) => void, evenIfClosing = false): void {
    const ws = this.#ws;
    if (!ws) this.#early.push(() => this.#do(action, evenIfClosing));
    else if (ws.readyState === WebSocket.OPEN || (evenIfClosing && ws.readyState === WebSocket.CONNECTING)) action(ws);
  }
}
