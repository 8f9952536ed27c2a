/**
 * `mcpd run NAME` through the daemon: our stdin and stdout speak newline-delimited JSON-RPC,
 * one line per WebSocket text message, and the server's masked stderr arrives as binary
 * messages that go to our stderr. Backpressure is honoured both ways. We exit with the
 * server's status when the daemon reports it (close code 4000 + status).
 */
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { McpdError } from '../../core/errors.js';
import { CLOSE, DEFAULT_MAX_MESSAGE_BYTES, SESSION_PATH, exitFromCloseCode } from '../../daemon/protocol.js';
import { LineSplitter, LineTooLong } from '../../daemon/session/framing.js';
import { type DaemonOptions, openDaemonSocket } from '../daemon-client.js';

const HIGH_WATER = 1024 * 1024;
const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;

export async function runSession(name: string, options: DaemonOptions): Promise<number> {
  const { path, ws } = await openDaemonSocket(options, `${SESSION_PATH}${encodeURIComponent(name)}?stderr=1`);
  let signalled: number | undefined;
  const onSignal = (signal: keyof typeof SIGNALS) => {
    signalled ??= 128 + SIGNALS[signal];
    ws.close(CLOSE.normal, `mcpd run received ${signal}`);
  };
  for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(signal, onSignal);

  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  const pending = new PendingRequests();
  relayStdin(ws, pending);
  ws.on('message', (data: Buffer, isBinary) => {
    if (isBinary) {
      process.stderr.write(data);
      return;
    }
    const text = data.toString();
    pending.answered(text);
    if (!process.stdout.write(`${text}\n`)) {
      ws.pause();
      process.stdout.once('drain', () => ws.resume());
    }
  });
  ws.on('error', () => {}); // the close that follows says what happened
  const [code, reason] = await closed;
  process.stdin.destroy();
  if (signalled !== undefined) return signalled;
  return exitFor(code, reason.toString(), path, name);
}

/**
 * Requests sent and not yet answered. On a pipe, stdin may end right after the last request
 * (`printf … | mcpd run x`): as with a server on a pipe, its answers must still arrive, so the
 * session is closed once they have (or after a bound).
 */
class PendingRequests {
  readonly #ids = new Set<string>();
  #onIdle: (() => void) | undefined;

  sent(line: string): void {
    const id = idOf(line, true);
    if (id !== undefined) this.#ids.add(id);
  }

  answered(line: string): void {
    const id = idOf(line, false);
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

/** The id of a request (`request`) or of a response; undefined for anything else. */
function idOf(line: string, request: boolean): string | undefined {
  try {
    const message = JSON.parse(line) as { id?: unknown; method?: unknown };
    if (message.id === undefined || message.id === null || (typeof message.method === 'string') !== request) return undefined;
    return JSON.stringify(message.id);
  } catch {
    return undefined;
  }
}

const DRAIN_ON_EOF_MS = 30_000;

/** Reads our stdin a line at a time into WebSocket messages; EOF closes the session once pending answers are in. */
function relayStdin(ws: WebSocket, pending: PendingRequests): void {
  const splitter = new LineSplitter(DEFAULT_MAX_MESSAGE_BYTES);
  process.stdin.on('data', (chunk: Buffer) => {
    let lines: string[];
    try {
      lines = splitter.push(chunk);
    } catch (error) {
      if (!(error instanceof LineTooLong)) throw error;
      process.stderr.write(`mcpd: a message on stdin is longer than ${error.maxBytes} bytes; closing the session\n`);
      ws.close(CLOSE.tooBig, 'message too big');
      return;
    }
    for (const line of lines) {
      if (ws.readyState !== WebSocket.OPEN) break;
      pending.sent(line);
      ws.send(line);
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
