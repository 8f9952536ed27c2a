/**
 * The client's side of the socket, for the CLI and mcpd/client alike: finds the socket, checks
 * its path can be trusted before a token goes to it, opens sessions and control connections,
 * and starts a daemon when none answers. Two `mcpd run`s started at once (a host app opening several servers)
 * must not start two daemons: the start is done under a lock, and the second one finds the
 * first one's daemon answering.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawn } from 'node:child_process';
import { WebSocket } from 'ws';
import { type ErrorCode, McpdError } from '../core/errors.js';
import { configPath, socketPath, stateDir } from '../core/paths.js';
import { answers } from '../core/socket-probe.js';
import { checkSocketPath } from '../core/socket-trust.js';
import { CONTROL_PATH, type ControlMethod, type ControlMethods, type ErrorBody } from '../daemon/protocol.js';
import { cliEntry } from './entry.js';

/** Where the daemon is and what to do when none answers. */
export interface ConnectOptions {
  /** The socket (default: $MCPD_SOCKET, else $XDG_RUNTIME_DIR/mcpd/mcpd.sock). */
  socket?: string | undefined;
  /** The config a started daemon reads. */
  config?: string | undefined;
  /** false: never start a daemon (exit 4 when none answers). */
  autostart?: boolean | undefined;
}

const STARTUP_TIMEOUT_MS = 10_000;

export function daemonSocket(options: ConnectOptions): string {
  return socketPath(process.env, options.socket);
}

/**
 * A zero masking key, which ws then skips applying (and the daemon's ws skips removing).
 * Masking keeps a script in a browser from choosing the bytes a proxy between it and the
 * server sees (RFC 6455 §10.3); on a Unix socket to our own daemon there is no such party, and
 * the XOR is a copy of every message mcpd run and a host app send.
 */
function unmasked(mask: Buffer): void {
  mask.fill(0);
}

/**
 * Opens a WebSocket on `route`; refusals become McpdErrors with the daemon's code and message.
 * A client token (`token`, else $MCPD_TOKEN) goes in the Authorization header, never the URL,
 * and only to a socket on a path no other user can change (SOCKET_UNSAFE otherwise).
 */
export async function openSocket(path: string, route: string, token = process.env.MCPD_TOKEN, options: { paused?: boolean; upgraded?: (headers: IncomingHttpHeaders) => void } = {}): Promise<WebSocket> {
  // A socket that is not there yet is not connected to: someone else could make it in between.
  if (!(await checkSocketPath(path)).exists) throw unreachable(path, Object.assign(new Error(`${path} does not exist`), { code: 'ENOENT' }));
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws+unix://${path}:${route}`, { perMessageDeflate: false, generateMask: unmasked, headers: { 'user-agent': 'mcpd-cli', ...(token ? { authorization: `Bearer ${token}` } : {}) } });
    if (options.upgraded) ws.once('upgrade', (res) => options.upgraded!(res.headers));
    ws.once('open', () => {
      // What the daemon sent along with its 101 (a session's first stderr line) would otherwise be
      // emitted before the caller, which only gets the socket a microtask later, could listen.
      if (options.paused) ws.pause();
      ws.removeAllListeners('error');
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => { text += chunk; }).on('end', () => {
        reject(refusal(res.statusCode ?? 0, text));
        ws.terminate();
      });
    });
    ws.once('error', (error: NodeJS.ErrnoException) => reject(unreachable(path, error)));
  });
}

function refusal(status: number, text: string): McpdError {
  try {
    const { error } = JSON.parse(text) as ErrorBody;
    return new McpdError(error.code, error.message, { hint: error.hint });
  } catch {
    return new McpdError('REFUSED', `the daemon refused the request with HTTP ${status}`);
  }
}

export function unreachable(path: string, cause?: NodeJS.ErrnoException): McpdError {
  return new McpdError('DAEMON_UNREACHABLE', `no mcpd daemon answers on ${path}${cause?.code ? ` (${cause.code})` : ''}`, {
    hint: 'start one with mcpd start (or mcpd daemon in the foreground), or run without one: mcpd run --no-daemon NAME',
    cause,
  });
}

/**
 * Opens `route` on the daemon, starting one first only when nobody listens on the socket
 * (no socket file, or a stale one): the common case, a daemon already running, costs one
 * connect and no probe.
 */
/** A session's socket, starting a daemon when nobody listens; paused: resume it once its listeners are on. */
export async function openDaemonSocket(options: ConnectOptions, route: string, upgraded?: (headers: IncomingHttpHeaders) => void): Promise<{ path: string; ws: WebSocket }> {
  const path = daemonSocket(options);
  try {
    return { path, ws: await openSocket(path, route, undefined, { paused: true, upgraded }) };
  } catch (error) {
    if (!nobodyListens(error)) throw error;
  }
  await ensureDaemon(options);
  return { path, ws: await openSocket(path, route, undefined, { paused: true, upgraded }) };
}

function nobodyListens(error: unknown): boolean {
  const code = error instanceof McpdError && error.code === 'DAEMON_UNREACHABLE' ? (error.cause as NodeJS.ErrnoException | undefined)?.code : undefined;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/** Makes sure a daemon answers on the socket, starting one unless autostart is off. */
export async function ensureDaemon(options: ConnectOptions): Promise<string> {
  const path = daemonSocket(options);
  await checkSocketPath(path); // before probing it or making its folder
  if (await answers(path)) return path;
  if (options.autostart === false) throw unreachable(path);
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const { lock } = await import('proper-lockfile');
  const release = await lock(path, { realpath: false, lockfilePath: join(dirname(path), 'autostart.lock'), retries: { retries: 100, minTimeout: 50, maxTimeout: 100 } });
  try {
    if (!(await answers(path))) await startDaemon(path, options);
  } finally {
    await release();
  }
  return path;
}

/**
 * Spawns `mcpd daemon` detached and waits until it answers. Its stderr goes to a file, not a
 * pipe: the daemon outlives us, and a pipe with no reader would fail its every write.
 */
async function startDaemon(path: string, options: ConnectOptions): Promise<void> {
  const dir = stateDir(process.env);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const errFile = join(dir, 'daemon.stderr');
  const err = await open(errFile, 'w', 0o600);
  const args = [cliEntry, 'daemon', '--socket', path, '--config', configPath(process.env, options.config)];
  let exited = false;
  try {
    // node:child_process, not execa: the fd is handed to the child as it is, with nothing of ours in between.
    const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', 'ignore', err.fd], env: daemonEnv(process.env) });
    child.once('exit', () => { exited = true; }).once('error', () => { exited = true; });
    const deadline = Date.now() + STARTUP_TIMEOUT_MS;
    while (!exited && Date.now() < deadline) {
      if (await answers(path)) {
        child.unref(); // it lives on after we exit
        return;
      }
      await sleep(25);
    }
    if (!exited) child.kill();
  } finally {
    await err.close();
  }
  const said = (await readFile(errFile, 'utf8').catch(() => '')).split('\n').filter((l) => l.startsWith('mcpd: ')).at(-1);
  throw new McpdError('DAEMON_UNREACHABLE', `could not start a daemon on ${path}: ${said ? said.slice('mcpd: '.length) : exited ? `it exited (see ${errFile})` : `no answer within ${STARTUP_TIMEOUT_MS / 1000} s`}`, {
    hint: 'fix the cause above, or run without a daemon: mcpd run --no-daemon NAME',
  });
}

/**
 * The environment a started daemon gets: ours, less $MCPD_TOKEN. The daemon is mcpd too and
 * takes the store passphrase and backend tokens it needs from it; the client token is ours to
 * present to a daemon, never a credential of the daemon's own.
 */
function daemonEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { MCPD_TOKEN: _ours, ...rest } = env;
  return rest;
}

/** One control request: connects, asks, and closes. */
export async function control<M extends ControlMethod>(options: ConnectOptions, method: M, params: ControlMethods[M]['params'] | Record<string, never> = {}): Promise<ControlMethods[M]['result']> {
  const path = daemonSocket(options);
  const ws = await openSocket(path, CONTROL_PATH);
  try {
    return await request(ws, method, params) as ControlMethods[M]['result'];
  } finally {
    ws.close();
  }
}

let nextId = 0;

/** Sends one JSON-RPC request on an open control connection and waits for its answer. */
export function request(ws: WebSocket, method: string, params: object): Promise<unknown> {
  const id = ++nextId;
  return new Promise((resolve, reject) => {
    const onMessage = (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string; data?: { code?: ErrorCode; hint?: string } } };
      if (message.id !== id) return;
      ws.off('message', onMessage);
      ws.off('close', onClose);
      if (message.error) reject(new McpdError(message.error.data?.code ?? 'INTERNAL', message.error.message, { hint: message.error.data?.hint }));
      else resolve(message.result);
    };
    const onClose = () => reject(new McpdError('DAEMON_UNREACHABLE', `the daemon closed the connection before answering ${method}`));
    ws.on('message', onMessage);
    ws.once('close', onClose);
    ws.send(JSON.stringify({ jsonrpc: '2.0', id, method, params }));
  });
}
