/**
 * `mcpd run NAME` through the daemon: our stdin and stdout speak newline-delimited JSON-RPC,
 * one line per WebSocket text message, and binary messages carry the server's masked stderr,
 * which goes to our stderr, and the daemon's notices (a server that needs the user to sign in:
 * session-notices.ts). Backpressure is honoured both ways. We exit with the
 * server's status when the daemon reports it (close code 4000 + status).
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import { WebSocket } from 'ws';
import { McpdError } from '../../core/errors.js';
import { CLOSE, DEFAULT_MAX_MESSAGE_BYTES, NOTICES_HEADER, SESSION_PATH, exitFromCloseCode } from '../../daemon/protocol.js';
import { type Envelope, envelopeOf, idKey, isRequest, readHead } from '../../daemon/session/envelope.js';
import { PartsEnvelope } from '../../daemon/session/parts-envelope.js';
import { LineSplitter, LineTooLong, wellFormed } from '../../daemon/session/framing.js';
import { corkedPerTick } from '../../daemon/session/tick-cork.js';
import { openDaemonSocket } from '../../connect/daemon.js';
import type { DaemonOptions } from '../context.js';
import { binaryMessages } from './session-notices.js';
import { readFramesOf } from './session-frames.js';

const HIGH_WATER = 1024 * 1024;
const NEWLINE = Buffer.from('\n');
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

/** How a session is run: through the daemon, and whether a sign-in page may be opened in the browser (--no-browser). */
export interface SessionOptions extends DaemonOptions {
  browser?: boolean;
}

export async function runSession(name: string, options: SessionOptions): Promise<number> {
  let notices = false;
  const { path, ws } = await openDaemonSocket(options, `${SESSION_PATH}${encodeURIComponent(name)}?stderr=1&notices=1`, (headers) => { notices = headers[NOTICES_HEADER] === '1'; });
  let signalled: number | undefined;
  const onSignal = (signal: keyof typeof SIGNALS) => {
    signalled ??= 128 + SIGNALS[signal];
    ws.close(CLOSE.normal, `mcpd run received ${signal}`);
  };
  for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(signal, onSignal);

  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  const pending = new PendingRequests();
  relayStdin(ws, pending);
  relayToStdout(ws, pending, notices ? binaryMessages({ name, browser: options.browser !== false, env: process.env, stderr: process.stderr }) : (message) => process.stderr.write(message));
  ws.on('error', () => {}); // the close that follows says what happened
  ws.resume();
  const [code, reason] = await closed;
  process.stdin.destroy();
  // A host that reads slowly has not taken everything yet: the rest waits in our stdout's
  // buffer, and the caller's process.exit would drop it. A signal from now on ends us at once.
  for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.off(signal, onSignal);
  await flushed(process.stdout);
  if (signalled !== undefined) return signalled;
  return exitFor(code, reason.toString(), path, name);
}

/** Resolves once everything written to `stream` so far is out (or the stream has failed: no reader is left). */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
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
function relayToStdout(ws: WebSocket, pending: PendingRequests, binary: (message: Buffer) => void): void {
  const stdout = corkedPerTick(process.stdout);
  let waiting = false;
  const write = (bytes: Buffer, last: boolean) => {
    stdout.cork();
    if (bytes.length > 0) process.stdout.write(bytes);
    if (last) process.stdout.write(NEWLINE);
    if (waiting || !process.stdout.writableNeedDrain) return;
    // A host that reads slowly holds the daemon back (and through it the server), not our memory.
    waiting = true;
    ws.pause();
    process.stdout.once('drain', () => {
      waiting = false;
      ws.resume();
    });
  };
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
    if (ws.bufferedAmount > HIGH_WATER) {
      process.stdin.pause();
      ws.ping(undefined, undefined, () => process.stdin.resume());
    }
  });
  process.stdin.once('end', () => pending.whenIdle(DRAIN_ON_EOF_MS, () => {
    if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE.normal, 'stdin closed');
  }));
}

function exitFor(code: number, reason: string, path: string, name: string): number {
  const status = exitFromCloseCode(code);
  if (status !== undefined) {
    if (status !== 0 && reason) process.stderr.write(`mcpd: server "${name}": ${reason}\n`);
    return status;
  }
  if (code === CLOSE.normal) return 0;
  const problem: Record<number, string> = {
    [CLOSE.goingAway]: reason || 'the daemon ended the session',
    [CLOSE.tooBig]: 'a message was larger than the daemon\'s limit (daemon.maxMessageBytes in the config)',
    [CLOSE.unsupportedData]: reason || 'the daemon refused a binary message',
  };
  if (code === 1006) {
    throw new McpdError('DAEMON_UNREACHABLE', `the daemon on ${path} went away during the session to "${name}"`, {
      hint: 'the next mcpd run starts a new daemon; daemon.log in the state dir may say why it ended',
    });
  }
  throw new McpdError('SESSION_CLOSED', `session to "${name}" closed: ${problem[code] ?? (reason || `code ${code}`)}`, {
    hint: `mcpd logs ${name} shows the server's stderr`,
  });
}
