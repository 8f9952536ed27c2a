/**
 * The daemon's frames on `mcpd run`'s session socket, read as they arrive so that a long server
 * message goes on to our stdout while its later fragments are still on their way (cut-through):
 * ws delivers a message only once its last fragment is in, which made this hop store-and-forward.
 *
 * Only data frames (text, binary, continuation) are read here. Control frames (close, ping,
 * pong) and anything unexpected (reserved bits or opcodes, a masked frame) are handed to ws's
 * own receiver as the bytes they came in, so the close handshake and protocol errors stay ws's.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';

export interface FrameHandler {
  /** The next bytes of a text message; `last` on its final piece (which may be empty). */
  text(part: Buffer, first: boolean, last: boolean): void;
  /** A whole binary message (the server's stderr, or a notice: session-notices.ts). */
  binary(message: Buffer): void;
}

/** ws's private parts this module needs: the socket it reads, and its receiver (a Writable). */
type WsInternals = { _socket?: Socket; _receiver?: { write(bytes: Buffer): boolean; _state?: number; _bufferedBytes?: number } };

/** Takes the reading of `ws`'s data frames over; undefined when ws's internals are not as expected (ws goes on reading whole messages). */
export function readFramesOf(ws: WebSocket, handler: FrameHandler): Socket | undefined {
  const { _socket: socket, _receiver: receiver } = ws as unknown as WsInternals;
  // Only between two frames: a frame ws has begun reading must be finished by ws.
  if (!socket || !receiver || socket.listenerCount('data') !== 1 || receiver._state !== 0 || receiver._bufferedBytes !== 0) return undefined;
  const reader = new FrameReader(handler, (bytes) => receiver.write(bytes));
  socket.removeAllListeners('data');
  socket.on('data', (chunk: Buffer) => reader.push(chunk));
  return socket;
}

const HEADER_MAX = 10; // 2 bytes, plus 8 of extended length (server frames carry no mask)

export class FrameReader {
  readonly #handler: FrameHandler;
  readonly #toWs: (bytes: Buffer) => void;
  /** Header bytes of a frame split across chunks. */
  #header = EMPTY;
  /** Payload bytes left in the current data frame. */
  #remaining = 0;
  #fin = false;
  /** The message in progress: 1 text, 2 binary, 0 none. */
  #opcode = 0;
  #firstPart = true;
  #binary: Buffer[] = [];
  /** Control frame bytes (header and payload) still to collect before handing them to ws. */
  #control: { parts: Buffer[]; remaining: number } | undefined;
  /** Once something unexpected came, every byte goes to ws. */
  #handedOver = false;

  constructor(handler: FrameHandler, toWs: (bytes: Buffer) => void) {
    this.#handler = handler;
    this.#toWs = toWs;
  }

  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length) {
      if (this.#handedOver) return this.#toWs(chunk.subarray(at));
      if (this.#control) at = this.#collectControl(chunk, at);
      else if (this.#remaining > 0) at = this.#payload(chunk, at);
      else at = this.#readHeader(chunk, at);
    }
  }

  #payload(chunk: Buffer, at: number): number {
    const n = Math.min(this.#remaining, chunk.length - at);
    this.#remaining -= n;
    this.#deliver(chunk.subarray(at, at + n));
    return at + n;
  }

  #deliver(bytes: Buffer): void {
    const last = this.#fin && this.#remaining === 0;
    if (this.#opcode === 1) {
      if (bytes.length > 0 || last) this.#handler.text(bytes, this.#firstPart, last);
      if (bytes.length > 0) this.#firstPart = false;
    } else if (bytes.length > 0) this.#binary.push(bytes);
    if (!last) return;
    if (this.#opcode === 2) this.#handler.binary(Buffer.concat(this.#binary));
    this.#binary = [];
    this.#opcode = 0;
    this.#firstPart = true;
  }

  #collectControl(chunk: Buffer, at: number): number {
    const control = this.#control!;
    const n = Math.min(control.remaining, chunk.length - at);
    control.parts.push(chunk.subarray(at, at + n));
    control.remaining -= n;
    if (control.remaining === 0) {
      this.#control = undefined;
      this.#toWs(Buffer.concat(control.parts));
    }
    return at + n;
  }

  /** Reads a frame header (buffering one split across chunks); returns the position after what it used. */
  #readHeader(chunk: Buffer, at: number): number {
    const had = this.#header.length;
    // In place when the chunk holds the whole header (nearly always); else joined with what came before.
    const bytes = had ? Buffer.concat([this.#header, chunk.subarray(at, at + HEADER_MAX)]) : chunk;
    const start = had ? 0 : at;
    const header = parseHeader(bytes, start, this.#parsed);
    if (!header) {
      this.#header = Buffer.from(bytes.subarray(start, start + HEADER_MAX));
      return chunk.length; // all of the rest was a partial header (under HEADER_MAX bytes)
    }
    this.#header = EMPTY;
    const used = header.headerLength - had;
    const { fin, opcode, length } = header;
    const unexpected = header.reserved || header.masked || (opcode > 2 && opcode < 8) || opcode > 10
      || (opcode === 0 && this.#opcode === 0) || ((opcode === 1 || opcode === 2) && this.#opcode !== 0);
    if (unexpected || opcode >= 8) {
      const headerBytes = Buffer.from(bytes.subarray(start, start + header.headerLength));
      if (unexpected) {
        this.#handedOver = true;
        this.#toWs(headerBytes);
        return at + used;
      }
      this.#control = { parts: [headerBytes], remaining: length };
      if (length === 0) this.#collectControl(chunk, at + used);
      return at + used;
    }
    if (opcode !== 0) this.#opcode = opcode;
    this.#fin = fin;
    this.#remaining = length;
    if (length === 0) this.#deliver(EMPTY);
    return at + used;
  }

  readonly #parsed: Header = { fin: false, reserved: false, masked: false, opcode: 0, length: 0, headerLength: 0 };
}

const EMPTY = Buffer.alloc(0);

interface Header { fin: boolean; reserved: boolean; masked: boolean; opcode: number; length: number; headerLength: number }

/** The frame header at `at` in `bytes`, read into `into`; undefined when they do not hold all of it yet. */
function parseHeader(bytes: Buffer, at: number, into: Header): Header | undefined {
  const available = bytes.length - at;
  if (available < 2) return undefined;
  const b0 = bytes[at]!;
  const b1 = bytes[at + 1]!;
  const len7 = b1 & 0x7f;
  into.headerLength = len7 < 126 ? 2 : len7 === 126 ? 4 : 10;
  if (available < into.headerLength) return undefined;
  into.length = len7 < 126 ? len7 : len7 === 126 ? bytes.readUInt16BE(at + 2) : Number(bytes.readBigUInt64BE(at + 2));
  into.fin = (b0 & 0x80) !== 0;
  into.reserved = (b0 & 0x70) !== 0;
  into.masked = (b1 & 0x80) !== 0;
  into.opcode = b0 & 0x0f;
  return into;
}
