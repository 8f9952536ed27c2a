/**
 * For host apps written in TypeScript: a session on the mcpd daemon as an MCP SDK Transport.
 *
 *   import { Client } from '@modelcontextprotocol/sdk/client/index.js';
 *   import { mcpdTransport } from 'mcpd/client';
 *   await client.connect(await mcpdTransport('github'));
 *
 * The daemon resolves the server's secrets and starts it; the host app never sees a token.
 * A refusal (unknown server, a secret that does not resolve) rejects with the daemon's
 * McpdError, code and message intact.
 */
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { type JSONRPCMessage, JSONRPCMessageSchema } from '@modelcontextprotocol/sdk/types.js';
import type { WebSocket } from 'ws';
import { ensureDaemon, openSocket } from '../connect/daemon.js';
import { McpdError } from '../core/errors.js';
import { CLOSE, SESSION_PATH, exitFromCloseCode } from '../daemon/protocol.js';

export { McpdError };

export interface McpdTransportOptions {
  /** The daemon's socket; default as `mcpd` finds it ($MCPD_SOCKET, $XDG_RUNTIME_DIR/mcpd/mcpd.sock, ~/.local/state/mcpd/mcpd.sock); refused when another user could have put it there. */
  socket?: string;
  /** Start a daemon when none answers (default true), with this config file when given. */
  autostart?: boolean;
  config?: string;
  /** A client token (mcpd token create), sent in the Authorization header; default $MCPD_TOKEN. */
  token?: string;
}

/** Opens a session to server `name`; resolves once the daemon has started the server. */
export async function mcpdTransport(name: string, options: McpdTransportOptions = {}): Promise<Transport> {
  const path = await ensureDaemon({ socket: options.socket, config: options.config, autostart: options.autostart ?? true });
  return new McpdTransport(await openSocket(path, `${SESSION_PATH}${encodeURIComponent(name)}`, options.token ?? process.env.MCPD_TOKEN, { paused: true }), name);
}

class McpdTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  readonly #ws: WebSocket;

  constructor(ws: WebSocket, name: string) {
    this.#ws = ws;
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) return;
      let parsed: ReturnType<typeof JSONRPCMessageSchema.safeParse>;
      try {
        parsed = JSONRPCMessageSchema.safeParse(JSON.parse(data.toString()));
      } catch {
        parsed = { success: false } as typeof parsed;
      }
      if (parsed.success) this.onmessage?.(parsed.data);
      else this.onerror?.(new McpdError('INTERNAL', `server "${name}" sent a message that is not JSON-RPC`));
    });
    ws.on('error', (error) => this.onerror?.(error));
    ws.on('close', (code, reason) => {
      if (code !== CLOSE.normal && exitFromCloseCode(code) !== 0) {
        this.onerror?.(new McpdError('SESSION_CLOSED', `session to "${name}" closed (code ${code}${reason.length ? `: ${reason.toString()}` : ''})`));
      }
      this.onclose?.();
    });
  }

  // The socket is open (and paused) before the SDK calls start(): connecting is where a refusal is reported.
  async start(): Promise<void> {
    this.#ws.resume();
  }

  async send(message: JSONRPCMessage): Promise<void> {
    await new Promise<void>((resolve, reject) => this.#ws.send(JSON.stringify(message), (error) => (error ? reject(error) : resolve())));
  }

  async close(): Promise<void> {
    if (this.#ws.readyState === this.#ws.CLOSED) return;
    const closed = new Promise((resolve) => this.#ws.once('close', resolve));
    this.#ws.close(CLOSE.normal, 'client closed');
    await closed;
  }
}
