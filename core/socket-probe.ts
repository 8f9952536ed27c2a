/**
 * Whether something answers on a Unix socket: how a client decides to start a daemon, and how a
 * daemon tells a live socket from one a killed daemon left behind.
 */
import { connect } from 'node:net';

/** Whether a daemon answers on `path`. */
export function answers(path: string, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(timeoutMs, () => done(false));
  });
}
