/**
 * Newline-delimited JSON, as MCP's stdio transport frames it, with a ceiling: a server that
 * writes a line longer than `maxBytes` (runaway output, a binary blob) must not grow the
 * daemon's memory without bound.
 *
 * Lines stay bytes: the bridge forwards them as they came, without decoding and re-encoding.
 * A line that grows long before its end arrives can be taken piece by piece instead of
 * buffered (cut-through), when its handler says so from its head.
 */
import { isUtf8 } from 'node:buffer';

/** The rest of a long line, from its head on, as it arrives. */
export interface LongLine {
  /** The next bytes of the line (the first call has its head). */
  part(bytes: Buffer): void;
  /** The line is over: `complete` is false when it was cut off (its process went away). */
  end(complete: boolean): void;
}

export interface LineHandler {
  /** A complete line, without its line end; blank lines are dropped. */
  line(line: Buffer): void;
  /** Asked once per line that reaches `streamFrom` bytes without an end: a LongLine takes it from here, undefined keeps buffering it. */
  long?(head: Buffer): LongLine | undefined;
}

export interface SplitterOptions {
  readonly maxBytes: number;
  /** Bytes of a line without an end after which `long` is asked (default: never). */
  readonly streamFrom?: number;
}

/** Parts of a streamed line are passed on once this many bytes are in hand (bounding the WebSocket fragments of one message). */
const MIN_PART = 16 * 1024;

export class LineSplitter {
  readonly #maxBytes: number;
  readonly #streamFrom: number;
  readonly #handler: LineHandler;
  #parts: Buffer[] = [];
  #size = 0;
  /** Bytes of the current line so far, buffered or passed on. */
  #lineBytes = 0;
  #long: LongLine | undefined;
  #asked = false;

  constructor(options: SplitterOptions, handler: LineHandler) {
    this.#maxBytes = options.maxBytes;
    this.#streamFrom = options.streamFrom ?? Infinity;
    this.#handler = handler;
  }

  /** Feeds a chunk: complete lines go to the handler in order; throws LineTooLong. */
  push(chunk: Buffer): void {
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      this.#add(chunk.subarray(start, nl));
      start = nl + 1;
      this.#endLine();
    }
    this.#add(chunk.subarray(start));
    if (this.#long) {
      if (this.#size >= MIN_PART) this.#long.part(this.#take());
    } else if (!this.#asked && this.#size >= this.#streamFrom && this.#handler.long) {
      this.#asked = true;
      const head = Buffer.concat(this.#parts, this.#size);
      this.#parts = [head];
      this.#long = this.#handler.long(head);
      if (this.#long) this.#long.part(this.#take());
    }
  }

  /** The process behind the stream went away: a line being passed on ends cut off; a buffered one is dropped. */
  abort(): void {
    const long = this.#long;
    this.#reset();
    long?.end(false);
  }

  #take(): Buffer {
    const bytes = this.#parts.length === 1 ? this.#parts[0]! : Buffer.concat(this.#parts, this.#size);
    this.#parts = [];
    this.#size = 0;
    return bytes;
  }

  #endLine(): void {
    const long = this.#long;
    if (long) {
      const rest = this.#take();
      this.#reset();
      if (rest.length > 0) long.part(rest);
      long.end(true);
      return;
    }
    let line = this.#take();
    this.#reset();
    // MCP forbids embedded newlines, but a server printing CRLF or a blank line is harmless.
    if (line[line.length - 1] === 13) line = line.subarray(0, -1);
    if (!isBlank(line)) this.#handler.line(line);
  }

  #reset(): void {
    this.#parts = [];
    this.#size = 0;
    this.#lineBytes = 0;
    this.#long = undefined;
    this.#asked = false;
  }

  #add(part: Buffer): void {
    if (part.length === 0) return;
    this.#lineBytes += part.length;
    if (this.#lineBytes > this.#maxBytes) throw new LineTooLong(this.#maxBytes);
    this.#size += part.length;
    this.#parts.push(part);
  }
}

function isBlank(line: Buffer): boolean {
  for (const byte of line) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d && byte !== 0x0b && byte !== 0x0c) return false;
  return true;
}

export class LineTooLong extends Error {
  constructor(readonly maxBytes: number) {
    super(`a message longer than ${maxBytes} bytes`);
  }
}

/** Text-frame bytes: the line itself when it is valid UTF-8, else decoded with U+FFFD for each bad sequence and encoded again. */
export function wellFormed(line: Buffer): Buffer {
  return isUtf8(line) ? line : Buffer.from(line.toString('utf8'));
}

/**
 * Cuts the parts of a streamed line at character boundaries, repairing bad sequences as
 * wellFormed does, so that every part passed on is valid UTF-8 by itself and a line cut off
 * still ends on a whole character.
 */
export class Utf8Parts {
  #carry: Buffer | undefined;

  /** The whole characters of `bytes` (with what was held back before); holds back an unfinished one. */
  take(bytes: Buffer): Buffer {
    const all = this.#carry ? Buffer.concat([this.#carry, bytes]) : bytes;
    const cut = completeLength(all);
    this.#carry = cut < all.length ? Buffer.from(all.subarray(cut)) : undefined;
    return wellFormed(all.subarray(0, cut));
  }

  /** Whatever was held back, as complete characters (an unfinished one becomes U+FFFD). */
  flush(): Buffer {
    const rest = this.#carry;
    this.#carry = undefined;
    return rest ? wellFormed(rest) : Buffer.alloc(0);
  }
}

/** The length of `bytes` without an unfinished multi-byte character at its end. */
function completeLength(bytes: Buffer): number {
  const n = bytes.length;
  for (let back = 1; back <= 3 && back <= n; back++) {
    const byte = bytes[n - back]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const needs = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return needs > back ? n - back : n;
  }
  return n;
}
