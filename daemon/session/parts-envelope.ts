/**
 * The envelope of a long message that is passed on in parts, read as the parts go by instead of
 * from a copy of the whole: a 10 MiB tool result whose id comes after it (as the MCP SDK writes
 * answers) would otherwise be kept and copied into one buffer only to find that id.
 *
 * What it keeps is the message's skeleton: every value that opens below a result's own keys
 * (depth 3 and deeper) becomes `0`, and every string below the top level longer than
 * LONG_STRING becomes `""`. readEnvelope looks no further than the top-level keys and values and
 * a result's keys and its `isError`, so on the skeleton it says what it would say on the whole
 * message; a long answer leaves a skeleton of a few hundred bytes.
 *
 * The walk has to know what is inside a string (brackets there do not count): it searches for
 * each closing quote with indexOf and counts the backslashes before it, carrying a run of them
 * across the end of a part.
 */
import { type Envelope, readEnvelope } from './envelope.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
/** Strings below the top level longer than this are not kept: readEnvelope only compares keys there, and `isError` is short. */
const LONG_STRING = 1024;
/** Depth of the values that become `0`: inside the top-level object (1) and a result in it (2). */
const CUT_DEPTH = 2;
const ZERO = Buffer.from('0');

export class PartsEnvelope {
  /** The skeleton so far. */
  readonly #kept: Buffer[] = [];
  /** Brackets open outside strings. */
  #depth = 0;
  #inString = false;
  /** Inside a value below CUT_DEPTH: nothing is kept until the depth is back. */
  #cut = false;
  /** For the string being read: its length so far, where it starts in #kept, and whether it is too long to keep. */
  #string = { length: 0, mark: 0, dropped: false, keepable: false };
  /** Backslashes that ended the previous part inside a string (their parity escapes a quote at the start of this one). */
  #slashes = 0;

  /** The next bytes of the message, in order. */
  push(part: Buffer): void {
    let keepFrom = this.#cut || (this.#inString && this.#string.dropped) ? -1 : 0;
    let at = 0;
    const keep = (end: number) => {
      if (keepFrom >= 0 && end > keepFrom) this.#kept.push(part.subarray(keepFrom, end));
    };
    while (at < part.length) {
      if (this.#inString) {
        const close = this.#closingQuote(part, at);
        const end = close < 0 ? part.length : close;
        this.#string.length += end - at;
        if (this.#string.keepable && !this.#string.dropped && this.#string.length > LONG_STRING) {
          // Too long to keep: drop what was kept of it; the closing quote makes it "".
          this.#kept.length = this.#string.mark;
          this.#string.dropped = true;
          keepFrom = -1;
        }
        if (close < 0) break;
        this.#inString = false;
        if (this.#string.dropped) keepFrom = this.#cut ? -1 : close;
        at = close + 1;
        continue;
      }
      const c = part[at]!;
      if (c === QUOTE) {
        this.#inString = true;
        const keepable = !this.#cut && this.#depth >= CUT_DEPTH;
        // A string that may be dropped starts a fresh piece, so that dropping it is a cut at a piece.
        if (keepable) {
          keep(at + 1);
          keepFrom = at + 1;
        }
        this.#string = { length: 0, mark: this.#kept.length, dropped: false, keepable };
        this.#slashes = 0;
        at++;
        continue;
      }
      if (c === 0x7b || c === 0x5b) {
        if (!this.#cut && this.#depth === CUT_DEPTH) {
          keep(at);
          this.#kept.push(ZERO);
          this.#cut = true;
          keepFrom = -1;
        }
        this.#depth++;
      } else if (c === 0x7d || c === 0x5d) {
        this.#depth--;
        if (this.#cut && this.#depth === CUT_DEPTH) {
          this.#cut = false;
          keepFrom = at + 1;
        }
      }
      at++;
    }
    keep(part.length);
    if (this.#inString) this.#slashes = trailingSlashes(part, this.#slashes);
  }

  /** How many bytes of the message are kept (the skeleton so far). */
  get keptBytes(): number {
    return this.#kept.reduce((n, piece) => n + piece.length, 0);
  }

  /** The envelope of the whole message, as readEnvelope would read it; undefined where it would be unsure. */
  envelope(): Envelope | undefined {
    return readEnvelope(Buffer.concat(this.#kept));
  }

  /** The position of the quote that closes the current string, from `at` on; -1 when it goes on past this part. */
  #closingQuote(part: Buffer, at: number): number {
    for (let from = at; ;) {
      const quote = part.indexOf(QUOTE, from);
      if (quote < 0) return -1;
      let slashes = 0;
      while (quote - 1 - slashes >= at && part[quote - 1 - slashes] === BACKSLASH) slashes++;
      // The run reaches back to where this part's string bytes began: the previous part's run goes on in it.
      if (quote - slashes === at && at === 0) slashes += this.#slashes;
      if (slashes % 2 === 0) return quote;
      from = quote + 1;
    }
  }
}

/** The run of backslashes that ends `part` (continuing `before` when the whole part is one). */
function trailingSlashes(part: Buffer, before: number): number {
  let run = 0;
  while (run < part.length && part[part.length - 1 - run] === BACKSLASH) run++;
  return run === part.length ? before + run : run;
}
