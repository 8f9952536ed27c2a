/**
 * `mcpd run NAME` through the daemon: our stdin and stdout speak newline-delimited JSON-RPC.
 * The session is a stream (daemon/protocol.ts): our stdin's bytes go to the daemon as we read
 * them, and what the daemon sends goes to our stdout as it comes, so this process, which lives
 * for one session and never runs its code warm, does no work per message; the daemon splits,
 * judges and matches them. Binary messages carry the server's masked stderr, which goes to our
 * stderr, and the daemon's notices (a server that needs the user to sign in:
 * session-notices.ts). A daemon from before streams gets one message per message
 * (message-relay.ts). We exit with the server's status when the daemon reports it (close code
 * 4000 + status).
 */
import { once } from 'node:events';
import { WebSocket } from 'ws';
import { McpdError } from '../../core/errors.js';
import { CLOSE, NOTICES_HEADER, SESSION_PATH, STREAM_CHUNK_BYTES, STREAM_HEADER, exitFromCloseCode } from '../../daemon/protocol.js';
import { openDaemonSocket } from '../../connect/daemon.js';
import type { DaemonOptions } from '../context.js';
import { relayMessages } from './message-relay.js';
import { type StdoutWrite, stdoutWriter, throttleStdin } from './session-io.js';
import { binaryMessages } from './session-notices.js';
import { readFramesOf } from './session-frames.js';

const SIGNALS = { SIGINT: 2, SIGTERM: 15, SIGHUP: 1 } as const;
const BINARY = { binary: true };
const EMPTY = Buffer.alloc(0);

/** How a session is run: through the daemon, and whether a sign-in page may be opened in the browser (--no-browser). */
export interface SessionOptions extends DaemonOptions {
  browser?: boolean;
}

export async function runSession(name: string, options: SessionOptions): Promise<number> {
  let notices = false;
  let stream = false;
  const { path, ws } = await openDaemonSocket(options, `${SESSION_PATH}${encodeURIComponent(name)}?stderr=1&notices=1&stream=1`, (headers) => {
    notices = headers[NOTICES_HEADER] === '1';
    stream = headers[STREAM_HEADER] === '1';
  });
  let signalled: number | undefined;
  const onSignal = (signal: keyof typeof SIGNALS) => {
    signalled ??= 128 + SIGNALS[signal];
    ws.close(CLOSE.normal, `mcpd run received ${signal}`);
  };
  for (const signal of Object.keys(SIGNALS) as Array<keyof typeof SIGNALS>) process.on(signal, onSignal);

  const closed = once(ws, 'close') as Promise<[number, Buffer]>;
  const binary = notices ? binaryMessages({ name, browser: options.browser !== false, env: process.env, stderr: process.stderr }) : (message: Buffer) => process.stderr.write(message);
  (stream ? relayStream : relayMessages)(ws, stdoutWriter(ws), binary);
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

/**
 * A stream session: stdin's chunks go out as binary messages as read, and an empty one when it
 * ends (the daemon closes the session once the answers owed are in); each text message's bytes
 * go to stdout as they arrive, read frame by frame (session-frames.ts) so a long answer is not
 * held here whole.
 */
function relayStream(ws: WebSocket, write: StdoutWrite, binary: (message: Buffer) => void): void {
  process.stdin.on('data', (chunk: Buffer) => {
    if (ws.readyState !== WebSocket.OPEN) return;
    for (let at = 0; at < chunk.length; at += STREAM_CHUNK_BYTES) ws.send(chunk.subarray(at, at + STREAM_CHUNK_BYTES), BINARY);
    throttleStdin(ws);
  });
  process.stdin.once('end', () => {
    if (ws.readyState === WebSocket.OPEN) ws.send(EMPTY, BINARY);
  });
  const text = (part: Buffer) => write(part, false);
  if (readFramesOf(ws, { text, binary })) return;
  ws.on('message', (data: Buffer, isBinary) => (isBinary ? binary(data) : text(data)));
}

/** Resolves once everything written to `stream` so far is out (or the stream has failed: no reader is left). */
function flushed(stream: NodeJS.WritableStream): Promise<void> {
  return new Promise((resolve) => stream.write('', () => resolve()));
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
    [CLOSE.tooBig]: reason || 'a message was larger than the daemon\'s limit (daemon.maxMessageBytes in the config)',
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
