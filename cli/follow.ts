/**
 * Following a control connection's notifications (`mcpd logs -f`, `mcpd events`) onto stdout,
 * with stdout's backpressure passed back to the daemon.
 */
import type { WebSocket } from 'ws';
import { McpdError } from '../core/errors.js';
import { CLOSE } from '../daemon/protocol.js';

/**
 * Prints each `method` notification of a control connection, formatted, until the daemon closes
 * it. While stdout is full (a paused pager) the socket is paused, so the backlog waits in the
 * daemon, which drops a follower that falls too far behind; that, and a revoked token, end it
 * with an error that says so. A daemon that stops ends it quietly.
 */
export function follow<T>(ws: WebSocket, method: string, format: (params: T) => string): Promise<void> {
  let paused = false;
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { method?: string; params?: T };
    if (message.method !== method || message.params === undefined) return;
    // Messages already read may still come after pause(): one drain listener is enough.
    if (!process.stdout.write(`${format(message.params)}\n`) && !paused) {
      paused = true;
      ws.pause();
      process.stdout.once('drain', () => {
        paused = false;
        ws.resume();
      });
    }
  });
  const closed = new Promise<void>((resolve, reject) => {
    ws.once('close', (code: number, reason: Buffer) => {
      if (code === CLOSE.tryAgainLater) {
        reject(new McpdError('SESSION_CLOSED', `the daemon dropped this connection: ${reason.toString()}`, { hint: 'read the output as it comes (a pager left paused holds it back), then run the command again' }));
      } else if (code === CLOSE.policy) {
        reject(new McpdError('TOKEN_INVALID', `the daemon ended this connection: ${reason.toString()}`, { hint: 'run it again with a valid token' }));
      } else resolve();
    });
  });
  // Handled here too: it may end while the caller still awaits its first answer.
  closed.catch(() => {});
  return closed;
}
