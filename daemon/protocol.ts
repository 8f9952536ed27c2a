/**
 * The socket protocol (README "The daemon"), shared by the daemon, the CLI and the
 * client module for host apps. HTTP on a Unix socket, upgraded to WebSocket:
 *
 *   GET /v1/session/NAME   one text message = one JSON-RPC message, both ways. With
 *                          `?stderr=1` the daemon also sends the server's masked stderr as
 *                          binary messages (what `mcpd run` prints); plain clients never see them.
 *                          With `&notices=1` as well, each binary message starts with a kind
 *                          byte: 0x00 stderr, 0x01 a JSON ClientNotice (a sign-in URL to open).
 *                          With `&stream=1` (mcpd run), the text both ways is the stdio stream
 *                          itself instead: the client sends the bytes of its stdin as binary
 *                          messages, cut wherever its reads cut them, and one empty binary
 *                          message when its stdin ends; the daemon splits them into lines, and
 *                          sends text messages whose concatenation is the server's
 *                          newline-delimited output. Stderr and notices stay binary, as above.
 *   GET /v1/control        JSON-RPC 2.0: status, servers.list, sessions.list, server.restart,
 *                          config.reload, logs.tail, daemon.stop, token.create,
 *                          token.list, token.revoke, rotation.status, rotation.run, secrets.check,
 *                          auth.status, auth.login, auth.token, auth.complete, auth.logout;
 *                          each needs a scope (CONTROL_SCOPES).
 *
 * Refusals come before the upgrade, as an HTTP status and an ErrorBody.
 */
import type { Finding } from '../providers/check.js';
import type { RotationStatus } from './rotation/scheduler.js';
import type { LeaseStatus } from './supervisor/leases.js';
import type { ErrorCode } from '../core/errors.js';
import type { TokenInfo } from './auth/access.js';
import type { AuthStatus } from './remote/oauth/auth-status.js';

export type { TokenInfo };

export const SESSION_PATH = '/v1/session/';
/**
 * In the 101 of a session that asked for notices: the daemon sends kind bytes. A daemon from
 * before notices sends raw stderr and no such header, and its client reads the bytes as stderr,
 * so a server's stderr can never pass for a notice, whichever daemon answers.
 */
export const NOTICES_HEADER = 'mcpd-notices';
/**
 * In the 101 of a session that asked for `&stream=1`: the session is a stream (above). A daemon
 * from before streams sends no such header, and its client speaks one message per message.
 * A stream puts the per-message work (splitting, matching answers to requests) in the daemon,
 * which lives on and runs it warm, not in a `mcpd run` that lives for one session.
 */
export const STREAM_HEADER = 'mcpd-stream';
/** The longest binary message of a stream's input (a read of stdin; a longer one is sent in pieces), whatever daemon.maxMessageBytes is. */
export const STREAM_CHUNK_BYTES = 64 * 1024;
export const CONTROL_PATH = '/v1/control';

export const DEFAULT_MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export interface ErrorBody {
  error: { code: ErrorCode; message: string; hint?: string };
}

/** Close codes: 4000 + the server's exit status when it exits; the standard ones otherwise. */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
  unsupportedData: 1003,
  /** The session's client token was revoked or expired. */
  policy: 1008,
  invalidPayload: 1007,
  tooBig: 1009,
  internal: 1011,
  /** The server needs fresh values and does not roll over (`rollover: false`): reconnect. */
  serviceRestart: 1012,
  /** A follower (`logs -f`, `events`) stopped reading and was dropped: run it again. */
  tryAgainLater: 1013,
  serverExitBase: 4000,
} as const;

export function closeCodeForExit(exitStatus: number): number {
  return CLOSE.serverExitBase + Math.min(Math.max(exitStatus, 0), 999);
}

/** The exit status a `4000 + status` close code carries, or undefined for any other code. */
export function exitFromCloseCode(code: number): number | undefined {
  return code >= CLOSE.serverExitBase && code < CLOSE.serverExitBase + 1000 ? code - CLOSE.serverExitBase : undefined;
}

export type ServerState = 'stopped' | 'starting' | 'running' | 'restarting' | 'failed';

export interface InstanceStatus {
  readonly session: string;
  readonly state: ServerState;
  readonly pid: number | undefined;
  /** When the current process started (ISO time). */
  readonly since: string | undefined;
  readonly restarts: number;
  readonly lastError: string | undefined;
  /** The leases the current process holds (references and expiry, never values). */
  readonly leases: readonly LeaseStatus[];
  /** Why the last roll onto fresh values failed while the old process keeps serving, and when it is tried again. */
  readonly rollover?: string;
}

/** A warm pool's state (daemon/supervisor/warm-pool.ts): `waiting` is the backoff after a start failed. */
export type PoolState = 'stopped' | 'filling' | 'ready' | 'waiting';

/** One pooled process, started ahead of need and not yet taken by a session. */
export interface PooledInstance {
  readonly state: ServerState;
  readonly pid: number | undefined;
  readonly since: string | undefined;
  /** Its resident memory (VmRSS, KiB) where /proc tells. */
  readonly rssKiB: number | undefined;
}

/** A server's warm pool, for `mcpd status`. */
export interface PoolStatus {
  /** The `warm` it is configured with. */
  readonly warm: number;
  readonly state: PoolState;
  readonly instances: readonly PooledInstance[];
  /** Why the pool could not fill the last time it tried (a reference that does not resolve). */
  readonly lastError: string | undefined;
  /** Why the server is never pre-started although it has `warm` (its references need the user). */
  readonly held?: string;
}

export interface ServerStatus {
  readonly name: string;
  /** The server's state: its most active instance's, or 'stopped' with none. */
  readonly state: ServerState;
  readonly command: string;
  /** References the definition uses (`${secret:github/pat}`), never values. */
  readonly refs: readonly string[];
  readonly sessions: number;
  readonly instances: readonly InstanceStatus[];
  readonly restarts: number;
  readonly lastError: string | undefined;
  /** Its warm pool, when it has `warm`. */
  readonly pool?: PoolStatus;
}

export interface DaemonStatus {
  readonly pid: number;
  readonly version: string;
  readonly socket: string;
  readonly config: string;
  readonly startedAt: string;
  /** Why the last config edit was not applied, if it was not. */
  readonly configError: string | undefined;
  /** Settings changed since the daemon started that apply only from its next start (daemon.maxMessageBytes, daemon.audit). */
  readonly atNextStart: string[];
  /** Rotated secrets that need attention: a rotation under way or failing, a reminder due or overdue. */
  readonly rotation: readonly RotationStatus[];
  readonly servers: readonly ServerStatus[];
  /** Extra listeners (a group socket, a loopback port), which always require a token. */
  readonly listeners: readonly string[];
  /** Why entries of socket.listen are not listened on (a port in use, say), since the last start or reload. */
  readonly listenerFailures: readonly string[];
}

export interface SessionInfo {
  readonly id: string;
  readonly server: string;
  readonly openedAt: string;
  readonly pid: number | undefined;
  readonly state: ServerState;
  readonly client: string | undefined;
  /** Who opened it, as the audit log names it (`owner`, `token:NAME`, `user:NAME`, `anonymous`, …), and the roles it held. */
  readonly subject: string;
  readonly roles: readonly string[];
}

/** One line of the daemon's log, as `events.subscribe` pushes it: its event name and fields (names, pids, codes; never a value). */
export interface DaemonEvent {
  readonly time: string;
  readonly event: string;
  readonly [field: string]: unknown;
}

export interface LogLine {
  readonly time: string;
  readonly server: string;
  readonly session: string;
  readonly line: string;
}

/** Control methods, their params and results: one table the daemon implements and the CLI calls. */
export interface ControlMethods {
  'status': { params: Record<string, never>; result: DaemonStatus };
  'servers.list': { params: Record<string, never>; result: ServerStatus[] };
  'sessions.list': { params: Record<string, never>; result: SessionInfo[] };
  'server.restart': { params: { name: string; roll?: boolean }; result: { restarted: number } };
  'server.stop': { params: { name: string }; result: { stopped: number } };
  'config.reload': { params: Record<string, never>; result: { changed: string[]; added: string[]; removed: string[]; atNextStart: string[]; listenerFailures: string[] } };
  'logs.tail': { params: { name: string; lines?: number; follow?: boolean }; result: { lines: LogLine[] } };
  'events.subscribe': { params: Record<string, never>; result: { subscribed: true } };
  'daemon.stop': { params: Record<string, never>; result: { stopping: true } };
  'rotation.status': { params: Record<string, never>; result: RotationStatus[] };
  'secrets.check': { params: Record<string, never>; result: Finding[] };
  'rotation.run': { params: { name: string }; result: RotationStatus };
  'token.create': { params: { name: string; scopes: string[]; roles?: string[]; expires?: string }; result: { token: string; info: TokenInfo } };
  'token.list': { params: Record<string, never>; result: TokenInfo[] };
  'token.revoke': { params: { name: string }; result: { info: TokenInfo; sessionsClosed: number } };
  'auth.status': { params: Record<string, never>; result: AuthStatus[] };
  /** Signs in (or joins the sign-in under way); the connection is sent AUTH_OPEN_NOTIFICATION with the URL to open. */
  'auth.login': { params: { name: string; browser?: boolean }; result: AuthStatus };
  'auth.token': { params: { name: string; token: string }; result: { server: string; stored: true } };
  'auth.complete': { params: { name: string; url: string }; result: { server: string; completed: true } };
  'auth.logout': { params: { name: string }; result: { server: string; revoked: boolean; forgot: boolean } };
  /** Authorization requests to mcpd's own authorization server (the `oauth` provider) waiting for the owner. */
  'auth.pending': { params: Record<string, never>; result: PendingConsent[] };
  'auth.decide': { params: { id: string; approve: boolean }; result: PendingConsent };
}

/** An authorization request waiting for consent: who asks, for what, and where the answer goes (never a code or key). */
export interface PendingConsent {
  readonly id: string;
  readonly client: string;
  readonly redirectUri: string;
  readonly resource: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly createdAt: string;
  readonly decision: 'pending' | 'approved' | 'denied';
}

/** The scope each control method needs (README "The daemon"); admin holds them all. */
export const CONTROL_SCOPES: Record<ControlMethod, string> = {
  'status': 'status:read',
  'servers.list': 'status:read',
  'sessions.list': 'status:read',
  'server.restart': 'admin',
  'server.stop': 'admin',
  'config.reload': 'admin',
  'logs.tail': 'logs:read',
  'events.subscribe': 'status:read',
  'daemon.stop': 'admin',
  'token.create': 'admin',
  'token.list': 'admin',
  'token.revoke': 'admin',
  'rotation.status': 'status:read',
  // It asks every backend: not for a client that may only read status.
  'secrets.check': 'admin',
  'rotation.run': 'rotate',
  'auth.status': 'status:read',
  'auth.login': 'admin',
  'auth.token': 'admin',
  'auth.complete': 'admin',
  'auth.logout': 'admin',
  'auth.pending': 'admin',
  'auth.decide': 'admin',
};

export type ControlMethod = keyof ControlMethods;

/** The notification a `logs.tail` with `follow` streams, one per new line. */
export const LOG_NOTIFICATION = 'logs.line';
/** The notification that carries a sign-in URL (a ClientNotice) to an `auth.login` connection. */
export const AUTH_OPEN_NOTIFICATION = 'auth.open';
/** The notification that carries a DaemonEvent to an `events.subscribe` connection. */
export const EVENT_NOTIFICATION = 'events.event';
