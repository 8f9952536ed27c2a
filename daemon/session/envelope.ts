/**
 * A JSON-RPC message's envelope (its top-level `id` and `method`, and whether it is a response)
 * read from its bytes without parsing it: the bridge routes a 10 MiB tool result by its id, and
 * JSON.parse of the whole line only to read that id cost more than the rest of the hop.
 *
 * For a response it also reads the outcome the audit records (an `error`, or a result whose
 * `isError` is true), walking the result's keys one level down; the tool call's content is
 * skipped like any other value, so a 10 MiB tool result is audited without being parsed.
 *
 * The scan walks the top-level object key by key; values it does not need are skipped (strings
 * by searching for their closing quote, nested values by counting brackets outside strings), not
 * decoded. It answers only when it is sure and returns undefined otherwise (not an object, a
 * syntax it does not expect, an `id` that is neither a string, a number nor null): the caller
 * then parses the message. It checks the structure it walks, not the full grammar of the values
 * it skips: a line whose top level reads as a JSON-RPC object is passed on, and the receiver's
 * parser sees any defect further in. Duplicate top-level keys, which JSON-RPC messages never
 * use, resolve to the first one: so the scan reads only what the server sends, never a message
 * a policy judges (client messages are parsed whole: client-message.ts).
 */

export type Id = string | number;

/** How a response ended its request: an `error`, a result with `isError: true` (a tool that failed), or a result. */
export type Outcome = 'ok' | 'error' | 'tool-error';

export interface Envelope {
  /** The top-level id: undefined when absent. */
  readonly id: Id | null | undefined;
  readonly method: string | undefined;
  /** A top-level `result` or `error` key: a response. */
  readonly response: boolean;
  /** A response's outcome, read from a whole message only (a head does not have it). */
  readonly outcome?: Outcome;
}

/** A request has an id and a method; a notification has only a method; a response neither a method. */
export function isRequest(envelope: Envelope): boolean {
  return envelope.method !== undefined && envelope.id !== undefined && envelope.id !== null;
}

/** A message with an id and no method answers a request. */
export function isResponse(envelope: Envelope): boolean {
  return envelope.method === undefined && envelope.id !== undefined && envelope.id !== null;
}

/** The key that matches a response's id to its request's (1 and "1" are different ids). */
export function idKey(id: Id): string {
  return typeof id === 'number' ? `n:${id}` : `s:${id}`;
}

/** The envelope of a whole message (no newline), or undefined when the scan cannot be sure. */
export function readEnvelope(bytes: Buffer): Envelope | undefined {
  const scan = new Scan(bytes);
  const envelope = scan.object(false);
  return envelope && scan.atEnd() ? envelope : undefined;
}

/** The envelope by the scan, else by parsing the line; undefined when it is not a JSON object. */
export function envelopeOf(line: Buffer): Envelope | undefined {
  const scanned = readEnvelope(line);
  if (scanned) return scanned;
  try {
    const message: unknown = JSON.parse(line.toString());
    return typeof message === 'object' && message !== null && !Array.isArray(message) ? envelopeOfMessage(message) : undefined;
  } catch {
    return undefined;
  }
}

/** The envelope of a parsed message; an id that is not a string, a number or null counts as none. */
export function envelopeOfMessage(message: { id?: unknown; method?: unknown; result?: unknown }): Envelope {
  const { id, method } = message;
  const envelope = {
    id: typeof id === 'string' || typeof id === 'number' || id === null ? id : undefined,
    method: typeof method === 'string' ? method : undefined,
    response: 'result' in message || 'error' in message,
  };
  return envelope.response ? { ...envelope, outcome: outcomeOf('error' in message, (message.result as { isError?: unknown } | null | undefined)?.isError === true) } : envelope;
}

function outcomeOf(error: boolean, isError: boolean): Outcome {
  return error ? 'error' : isError ? 'tool-error' : 'ok';
}

/**
 * From the head of a message still arriving: a response with its id, or a message that has a
 * method (a request or notification from the server, whose id the bridge does not need), once
 * that is certain; undefined while the head does not say (the id may come after the result).
 */
export function readHead(head: Buffer): Envelope | undefined {
  return new Scan(head).object(true);
}

/** A head decides once it has a method, or a result or error key with the id before it. */
function decided(id: Id | null | undefined, method: string | undefined, response: boolean): boolean {
  return method !== undefined || (response && id !== undefined);
}

/** The top-level keys of the envelope, and the one key of a result the outcome needs. */
const KEYS = ['id', 'method', 'result', 'error', 'isError'];
const KEY_BYTES = KEYS.map((key) => [key, Buffer.from(key)] as const);
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const INCOMPLETE = -1;

/** A cursor over one message's bytes; the position methods return a negative number when they cannot tell. */
class Scan {
  #at = 0;

  constructor(private readonly bytes: Buffer) {}

  /** The top-level object's envelope; with `head`, returns as soon as it is decided. */
  object(head: boolean): Envelope | undefined {
    let at = this.#space(0);
    if (this.bytes[at] !== 0x7b) return undefined; // {
    at = this.#space(at + 1);
    let id: Id | null | undefined;
    let method: string | undefined;
    let response = false;
    let error = false;
    let isError = false;
    const whole = () => (response ? { id, method, response, outcome: outcomeOf(error, isError) } : { id, method, response });
    if (this.bytes[at] === 0x7d) return this.#done(at + 1, whole());
    for (;;) {
      if (this.bytes[at] !== QUOTE) return undefined;
      const keyEnd = this.#stringEnd(at);
      if (keyEnd < 0) return undefined;
      const key = this.#key(at, keyEnd);
      at = this.#space(keyEnd);
      if (this.bytes[at] !== 0x3a) return undefined; // :
      at = this.#space(at + 1);
      if (key === 'id' && id === undefined) {
        const value = this.#id(at);
        if (!value) return undefined;
        [id, at] = value;
      } else if (key === 'method' && method === undefined) {
        if (this.bytes[at] !== QUOTE) return undefined;
        const end = this.#stringEnd(at);
        if (end < 0) return undefined;
        method = this.#string(at, end);
        at = end;
      } else {
        if (key === 'result' || key === 'error') response = true;
        // The head says enough before the (possibly long) value that follows.
        if (head && decided(id, method, response)) return { id, method, response };
        if (key === 'error') error = true;
        if (key === 'result' && this.bytes[at] === 0x7b) [at, isError] = this.#result(at);
        else at = this.#skipValue(at);
        if (at < 0) return undefined;
      }
      if (head && decided(id, method, response)) return { id, method, response };
      at = this.#space(at);
      if (this.bytes[at] === 0x7d) return head ? undefined : this.#done(at + 1, whole());
      if (this.bytes[at] !== 0x2c) return undefined; // ,
      at = this.#space(at + 1);
    }
  }

  atEnd(): boolean {
    return this.#space(this.#at) === this.bytes.length;
  }

  #done(at: number, envelope: Envelope): Envelope {
    this.#at = at;
    return envelope;
  }

  #space(at: number): number {
    const b = this.bytes;
    while (at < b.length && (b[at] === 0x20 || b[at] === 0x0a || b[at] === 0x0d || b[at] === 0x09)) at++;
    return at;
  }

  /** The position after the string that opens at `at`, or INCOMPLETE. */
  #stringEnd(at: number): number {
    const b = this.bytes;
    // Byte by byte for short strings (keys, ids, methods); memchr for long ones.
    const near = Math.min(b.length, at + 64);
    let i = at + 1;
    for (; i < near; i++) {
      const c = b[i];
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) return i + 1;
    }
    if (i >= b.length) return INCOMPLETE;
    // `i` is past any escape the loop saw; a quote found from here is escaped by the backslashes right before it.
    for (let from = i; ;) {
      const quote = b.indexOf(QUOTE, from);
      if (quote < 0) return INCOMPLETE;
      if (!this.#escaped(quote, at)) return quote + 1;
      from = quote + 1;
    }
  }

  /** Whether the byte at `at` is escaped: an odd run of backslashes before it, after `floor`. */
  #escaped(at: number, floor: number): boolean {
    let slashes = 0;
    while (at - 1 - slashes > floor && this.bytes[at - 1 - slashes] === BACKSLASH) slashes++;
    return slashes % 2 === 1;
  }

  /** A string's value; JSON.parse only when it holds escapes. */
  #string(start: number, end: number): string {
    const b = this.bytes;
    for (let i = start + 1; i < end - 1; i++) if (b[i] === BACKSLASH) return JSON.parse(b.toString('utf8', start, end)) as string;
    return b.toString('utf8', start + 1, end - 1);
  }

  /** Only the keys the envelope needs are told apart (compared byte by byte); any other comes back as ''. */
  #key(start: number, end: number): string {
    const b = this.bytes;
    const length = end - start - 2;
    for (let i = start + 1; i < end - 1; i++) {
      if (b[i] === BACKSLASH) {
        const key = this.#string(start, end);
        return KEYS.includes(key) ? key : '';
      }
    }
    next: for (const [key, bytes] of KEY_BYTES) {
      if (bytes.length !== length) continue;
      for (let i = 0; i < length; i++) if (b[start + 1 + i] !== bytes[i]) continue next;
      return key;
    }
    return '';
  }

  /** An id value: a string, a number or null; undefined for anything else. */
  #id(at: number): [Id | null, number] | undefined {
    const b = this.bytes;
    if (b[at] === QUOTE) {
      const end = this.#stringEnd(at);
      return end < 0 ? undefined : [this.#string(at, end), end];
    }
    const end = this.#scalarEnd(at);
    if (end < 0 || end === at) return undefined;
    // Most ids are small counters: read without making a string.
    if (end - at < 16 && (b[at] !== 0x30 || end - at === 1)) {
      let n = 0;
      let i = at;
      for (; i < end && b[i]! >= 0x30 && b[i]! <= 0x39; i++) n = n * 10 + b[i]! - 0x30;
      if (i === end) return [n, end];
    }
    const text = b.toString('latin1', at, end);
    if (text === 'null') return [null, end];
    if (!/^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?$/.test(text)) return undefined;
    return [Number(text), end];
  }

  /** A number or literal ends at a delimiter; INCOMPLETE when the bytes end first. */
  #scalarEnd(at: number): number {
    const b = this.bytes;
    while (at < b.length) {
      const c = b[at]!;
      if (c === 0x2c || c === 0x7d || c === 0x5d || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) return at;
      if (c === QUOTE || c === 0x7b || c === 0x5b || c === 0x3a) return -2;
      at++;
    }
    return INCOMPLETE;
  }

  /**
   * The position after the result object at `at`, walked key by key like the top level, and
   * whether its `isError` is `true` (of duplicate keys the last counts here, as in JSON.parse).
   */
  #result(at: number): [end: number, isError: boolean] {
    const b = this.bytes;
    let isError = false;
    at = this.#space(at + 1);
    if (b[at] === 0x7d) return [at + 1, false];
    for (;;) {
      if (b[at] !== QUOTE) return [-2, false];
      const keyEnd = this.#stringEnd(at);
      if (keyEnd < 0) return [keyEnd, false];
      const key = this.#key(at, keyEnd);
      at = this.#space(keyEnd);
      if (b[at] !== 0x3a) return [-2, false]; // :
      at = this.#space(at + 1);
      const end = this.#skipValue(at);
      if (end < 0) return [end, false];
      if (key === 'isError') isError = end - at === 4 && b.toString('latin1', at, end) === 'true';
      at = this.#space(end);
      if (b[at] === 0x7d) return [at + 1, isError];
      if (b[at] !== 0x2c) return [-2, false]; // ,
      at = this.#space(at + 1);
    }
  }

  /** The position after the value at `at`, whatever it is; negative when it does not end in these bytes. */
  #skipValue(at: number): number {
    const b = this.bytes;
    const c = b[at];
    if (c === QUOTE) return this.#stringEnd(at);
    if (c !== 0x7b && c !== 0x5b) {
      const end = this.#scalarEnd(at);
      return end === at ? -2 : end;
    }
    let depth = 0;
    while (at < b.length) {
      const d = b[at]!;
      if (d === QUOTE) {
        at = this.#stringEnd(at);
        if (at < 0) return INCOMPLETE;
        continue;
      }
      if (d === 0x7b || d === 0x5b) depth++;
      else if (d === 0x7d || d === 0x5d) {
        depth--;
        if (depth === 0) return at + 1;
      }
      at++;
    }
    return INCOMPLETE;
  }
}
