/**
 * A session's client side over a WebSocket: text messages are JSON-RPC; binary messages from
 * the daemon carry the server's stderr, for clients that asked for it (`?stderr=1`). A client
 * that also asked for notices (`&notices=1`, `mcpd run`) gets every binary message with a kind
 * byte first: 0x00 stderr, 0x01 a JSON notice (a sign-in URL to open). Without the kind byte a
 * server's stderr could pose as a notice.
 *
 * A stream session (`&stream=1`, mcpd run) gets the server's output as its stdout is to carry
 * it: each message with its newline, and a long one's parts each as a text message of its own
 * (the client writes every text message out as it comes, so where one ends means nothing).
 */
import type { Duplex } from 'node:stream';
import { WebSocket } from 'ws';
import type { ClientNotice } from '../supervisor/instance.js';
import type { ClientLink } from '../session/client-link.js';
import { corkedPerTick } from '../session/tick-cork.js';

/** The first byte of a binary message on a session that asked for notices. */
export const NOTICE_KIND = { stderr: 0x00, notice: 0x01 } as const;

/** WebSocket close reasons are limited to 123 bytes. */
export function closeReason(text: string): string {
  const bytes = Buffer.from(text);
  return bytes.length <= 123 ? text : `${bytes.subarray(0, 120).toString('utf8').replace(/\uFFFD$/, '')}...`;
}

/**
 * The session exists before the WebSocket does: the server is started before the upgrade, so a
 * failure can still be refused with an HTTP status. Whatever the server sends meanwhile waits here.
 *
 * A message sent in parts (a long server line passed on as it arrives) is one WebSocket message
 * in fragments; whatever else is sent meanwhile (stderr, mcpd's own error responses) waits for
 * its last fragment, since frames of another message cannot go between them.
 */
export class WebSocketLink implements ClientLink {
  #ws: WebSocket | undefined;
  #early: Array<() => void> = [];
  /** Sends waiting for the message in parts to end. */
  #afterParts: Array<() => void> | undefined;
  /** The connection under the WebSocket, corked per tick. */
  #socketCork: { cork(): void } | undefined;
  readonly sendStderr: ((line: string) => void) | undefined;
  readonly sendNotice: ((notice: ClientNotice) => boolean) | undefined;

  readonly #stream: boolean;

  /** What the client asked for: the server's stderr, notices with it, the session as a stream. */
  constructor(options: { stderr?: boolean; notices?: boolean; stream?: boolean } = {}) {
    const { stderr: withStderr = false, notices: withNotices = false } = options;
    this.#stream = options.stream ?? false;
    const binary = (kind: number | undefined, text: string) => this.#do((ws) => ws.send(kind === undefined ? Buffer.from(text) : Buffer.concat([Buffer.of(kind), Buffer.from(text)]), { binary: true }));
    this.sendStderr = withStderr ? (line) => binary(withNotices ? NOTICE_KIND.stderr : undefined, `${line}\n`) : undefined;
    this.sendNotice = withStderr && withNotices ? (notice) => (binary(NOTICE_KIND.notice, JSON.stringify(notice)), true) : undefined;
  }

  /** `socket` is the connection under `ws`: corked, the frames of one tick leave in one write. */
  attach(ws: WebSocket, socket?: Duplex): void {
    this.#ws = ws;
    this.#socketCork = socket && corkedPerTick(socket);
    for (const run of this.#early.splice(0)) run();
  }

  send(message: Buffer | string): void {
    const text = !this.#stream ? message : typeof message === 'string' ? `${message}\n` : Buffer.concat([message, NEWLINE]);
    this.#do((ws) => ws.send(text, TEXT));
  }

  sendPart(part: Buffer, last: boolean): void {
    this.#do((ws) => {
      this.#afterParts ??= [];
      if (!this.#stream) ws.send(part, last ? TEXT : TEXT_PART);
      else if (last || part.length > 0) ws.send(last ? Buffer.concat([part, NEWLINE]) : part, TEXT);
      if (!last) return;
      const waiting = this.#afterParts;
      this.#afterParts = undefined;
      for (const run of waiting) run();
    }, false, true);
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
    // A message left in parts is ended first (cut off), so the close frame does not land inside it.
    if (this.#afterParts) this.sendPart(Buffer.alloc(0), true);
    this.#afterParts = undefined; // if that could not be sent, neither can what waited for it
    this.#do((ws) => ws.close(code, closeReason(reason)), true);
  }

  #do(action: (ws: WebSocket) => void, evenIfClosing = false, part = false): void {
    const ws = this.#ws;
    if (!ws) this.#early.push(() => this.#do(action, evenIfClosing, part));
    else if (this.#afterParts && !part) this.#afterParts.push(() => this.#do(action, evenIfClosing));
    else if (ws.readyState === WebSocket.OPEN || (evenIfClosing && ws.readyState === WebSocket.CONNECTING)) {
      this.#socketCork?.cork();
      action(ws);
    }
  }
}

const NEWLINE = Buffer.from('\n');
const TEXT = { binary: false };
const TEXT_PART = { binary: false, fin: false };
