/**
 * `GET /v1/control`: JSON-RPC 2.0 over the WebSocket, one request per message. Errors carry
 * the McpdError's code and hint in `data`, so the CLI prints them as it prints its own.
 */
import type { WebSocket } from 'ws';
import { McpdError } from '../core/errors.js';
import { type Principal, requireScope } from './auth/scopes.js';
import type { Daemon } from './daemon.js';
import { consentEvent, pendingOf } from './auth/oauth/consent-record.js';
import { AUTH_OPEN_NOTIFICATION, CLOSE, CONTROL_SCOPES, type ControlMethod, type ControlMethods, EVENT_NOTIFICATION, LOG_NOTIFICATION } from './protocol.js';

type Handler<M extends ControlMethod> = (params: Partial<ControlMethods[M]['params']>, ws: WebSocket) => Promise<ControlMethods[M]['result']> | ControlMethods[M]['result'];

function handlers(daemon: Daemon, principal: Principal): { [M in ControlMethod]: Handler<M> } {
  return {
    'status': () => daemon.status(),
    'servers.list': () => [...daemon.status().servers],
    'sessions.list': () => daemon.sessions(),
    'server.restart': async ({ name, roll }) => ({ restarted: await daemon.restartServer(requireName(name), roll === true) }),
    'server.stop': async ({ name }) => ({ stopped: await daemon.stopServer(requireName(name)) }),
    'config.reload': () => daemon.reload(),
    'logs.tail': ({ name, lines, follow }, ws) => {
      const server = requireName(name);
      if (!daemon.status().servers.some((s) => s.name === server)) throw new McpdError('SERVER_UNKNOWN', `no server named "${server}" in the daemon's config`, { hint: 'mcpd ls lists the servers' });
      if (follow) {
        const stop = daemon.logs.follow(server, (line) => push(ws, LOG_NOTIFICATION, line, daemon));
        ws.once('close', stop);
      }
      return { lines: daemon.logs.tail(server, lines ?? 100) };
    },
    'events.subscribe': (_params, ws) => {
      const stop = daemon.events.subscribe((event) => push(ws, EVENT_NOTIFICATION, event, daemon));
      ws.once('close', stop);
      return { subscribed: true };
    },
    'rotation.status': () => daemon.rotation.status(),
    'secrets.check': () => daemon.checkSecrets(),
    'rotation.run': ({ name }) => daemon.rotation.runNow(requireName(name, 'rotation')),
    'daemon.stop': () => {
      // Answer first: the stop closes this connection too.
      setImmediate(() => void daemon.stop('mcpd stop'));
      return { stopping: true };
    },
    'token.create': ({ name, scopes, expires, roles }) => daemon.access.create(requireName(name, 'token'), Array.isArray(scopes) ? scopes.map(String) : [], typeof expires === 'string' ? expires : undefined, principal, Array.isArray(roles) ? roles.map(String) : []),
    'token.list': () => daemon.access.list(),
    'token.revoke': async ({ name }) => {
      const info = await daemon.access.revoke(requireName(name, 'token'), principal);
      return { info, sessionsClosed: await daemon.dropRevoked() };
    },
    'auth.status': () => daemon.authStatus(),
    'auth.login': ({ name }, ws) => daemon.signInOf(requireName(name)).login({
      login: true,
      // The CLI opens the browser, or prints the URL with --no-browser: either way it is shown.
      open: (notice) => ws.readyState === ws.OPEN && (push(ws, AUTH_OPEN_NOTIFICATION, notice, daemon), true),
      say: () => {},
    }),
    'auth.token': async ({ name, token }) => {
      const server = requireName(name);
      if (typeof token !== 'string' || token.trim() === '') throw new McpdError('USAGE', `no token given for server "${server}"; nothing was stored`, { hint: `run mcpd auth login ${server} and paste the token when asked` });
      await daemon.signInOf(server).storeToken(token.trim());
      return { server, stored: true };
    },
    'auth.complete': ({ name, url }) => {
      const server = requireName(name);
      if (typeof url !== 'string') throw new McpdError('USAGE', `the request needs the redirected URL in params.url`, { hint: 'paste the whole address your browser was sent to after signing in' });
      daemon.signInOf(server).complete(url);
      return { server, completed: true };
    },
    'auth.logout': async ({ name }) => {
      const server = requireName(name);
      return { server, ...(await daemon.signInOf(server).logout()) };
    },
    'auth.pending': () => daemon.oauth.pending().map(pendingOf),
    'auth.decide': ({ id, approve }) => {
      const consent = daemon.oauth.decide(requireName(id, 'request'), approve === true, principal.subject);
      daemon.audit.by(principal).record(consentEvent(consent));
      return pendingOf(consent);
    },
  };
}

const NAMED = {
  server: 'mcpd ls lists the servers',
  token: 'mcpd token ls lists the tokens',
  rotation: 'mcpd rotation status lists the rotated secrets',
  request: 'mcpd auth pending lists the authorization requests waiting',
} as const;

function requireName(name: unknown, what: keyof typeof NAMED = 'server'): string {
  if (typeof name !== 'string' || name === '') throw new McpdError('USAGE', `the request needs a ${what} name in params.name`, { hint: NAMED[what] });
  return name;
}

/** Serves one control connection for `principal`: every method is checked against its scope. */
export function serveControl(ws: WebSocket, daemon: Daemon, principal: Principal): void {
  const table = handlers(daemon, principal) as Record<string, Handler<ControlMethod>>;
  ws.on('message', (data, isBinary) => {
    void (async () => {
      let request: { id?: string | number | null; method?: unknown; params?: unknown };
      try {
        if (isBinary) throw new SyntaxError('binary message');
        request = JSON.parse(data.toString()) as typeof request;
      } catch {
        return reply(ws, null, { error: { code: -32700, message: 'Parse error: send one JSON-RPC request per text message' } });
      }
      // `null`, a number or an array parses too: reading `.id` off null once ended the daemon.
      if (typeof request !== 'object' || request === null || Array.isArray(request)) {
        return reply(ws, null, { error: { code: -32600, message: 'Invalid Request: send one JSON-RPC request object per text message' } });
      }
      const id = request.id ?? null;
      const handler = typeof request.method === 'string' && Object.hasOwn(table, request.method) ? table[request.method] : undefined;
      if (!handler) return reply(ws, id, { error: { code: -32601, message: `Method not found: ${String(request.method).slice(0, 60)}; known: ${Object.keys(table).join(', ')}` } });
      try {
        const method = request.method as ControlMethod;
        requireScope(principal, CONTROL_SCOPES[method], `the control method ${method}`);
        if (!daemon.access.stillValid(principal)) throw new McpdError('TOKEN_INVALID', 'this connection\'s token is no longer valid (revoked or expired)', { hint: 'reconnect with a valid token' });
        const params = (typeof request.params === 'object' && request.params !== null ? request.params : {}) as Record<string, unknown>;
        reply(ws, id, { result: await handler(params, ws) });
      } catch (error) {
        const e = error instanceof McpdError ? error : new McpdError('INTERNAL', `internal error in ${String(request.method)}: ${error instanceof Error ? error.message : String(error)}`);
        reply(ws, id, { error: { code: -32000, message: e.message, data: { code: e.code, hint: e.hint } } });
      }
    })();
  });
}

/** Unsent bytes a follower (`logs -f`, `events`) may fall behind by before it is dropped. */
const FOLLOWER_BACKLOG_BYTES = 8 * 1024 * 1024;

/**
 * A notification to a follower. One that stopped reading (a paused pager) is dropped once it is
 * FOLLOWER_BACKLOG_BYTES behind: else a chatty server's stderr would pile up in the daemon.
 */
function push(ws: WebSocket, method: string, params: unknown, daemon: Daemon): void {
  if (ws.readyState !== ws.OPEN) return;
  if (ws.bufferedAmount > FOLLOWER_BACKLOG_BYTES) {
    ws.close(CLOSE.tryAgainLater, `it fell more than ${FOLLOWER_BACKLOG_BYTES / 1024 / 1024} MiB behind what it follows`);
    daemon.log('control.dropped', { method, reason: 'fell behind', bufferedBytes: ws.bufferedAmount });
    return;
  }
  ws.send(JSON.stringify({ jsonrpc: '2.0', method, params }));
}

function reply(ws: WebSocket, id: string | number | null, body: object): void {
  if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ jsonrpc: '2.0', id, ...body }));
}
