/**
 * `mcpd run`'s two ends of a daemon session, whichever way the session speaks (run-session.ts):
 * backpressure both ways, so a host that reads slowly holds the daemon back (and through it the
 * server), and a daemon that reads slowly holds stdin back, never our memory.
 */
import type { WebSocket } from 'ws';
import { corkedPerTick } from '../../daemon/session/tick-cork.js';

/** Above this many bytes queued toward the daemon, stdin is paused; above this many waiting for stdout, the daemon's socket. */
const HIGH_WATER = 1024 * 1024;
const NEWLINE = Buffer.from('\n');

/** Writes bytes to our stdout, with a newline after them when `newline`. */
export type StdoutWrite = (bytes: Buffer, newline: boolean) => void;

/** Our stdout, corked per tick (a burst of answers leaves in one write); while more than HIGH_WATER waits in it, `ws` is paused. */
export function stdoutWriter(ws: WebSocket): StdoutWrite {
  const stdout = corkedPerTick(process.stdout);
  let waiting = false;
  return (bytes, newline) => {
    stdout.cork();
    if (bytes.length > 0) process.stdout.write(bytes);
    if (newline) process.stdout.write(NEWLINE);
    // Past HIGH_WATER, not the stream's own 16 KiB mark: at that one, each long answer's part
    // (corked, so not yet written) would pause and resume the socket, read by read.
    if (waiting || process.stdout.writableLength <= HIGH_WATER) return;
    waiting = true;
    ws.pause();
    process.stdout.once('drain', () => {
      waiting = false;
      ws.resume();
    });
  };
}

/** Pauses stdin while more than HIGH_WATER bytes wait to be sent on `ws`; a ping's callback says they have gone. */
export function throttleStdin(ws: WebSocket): void {
  if (ws.bufferedAmount <= HIGH_WATER) return;
  process.stdin.pause();
  ws.ping(undefined, undefined, () => process.stdin.resume());
}
