/**
 * `mcpd auth login NAME [--no-browser]`, `mcpd auth status [--json]`, `mcpd auth logout NAME`:
 * signing in to url servers. The daemon owns every flow and every token (one flow per server
 * for all sessions, tokens in the default store); the CLI is the user's end of it: it opens the
 * browser the daemon cannot (it may run under systemd), takes the address pasted back where no
 * browser can reach the daemon's loopback callback (SSH), and reads a token on a hidden prompt
 * for a server that offers no OAuth. No token is ever printed.
 */
import { createInterface } from 'node:readline';
import type { WebSocket } from 'ws';
import { daemonSocket, ensureDaemon, openSocket, request } from '../../connect/daemon.js';
import { McpdError } from '../../core/errors.js';
import { AUTH_OPEN_NOTIFICATION, CONTROL_PATH } from '../../daemon/protocol.js';
import type { AuthStatus } from '../../daemon/remote/oauth/auth-status.js';
import { browsableUrl, openBrowser } from '../browser.js';
import { type DaemonOptions, output } from '../context.js';
import { table } from '../table.js';

/** `auth.login`'s answer once the flow is done: the server's sign-in as `auth.status` shows it. */
type LoginResult = AuthStatus;

/** Signs in to `name`: opens the browser on the daemon's notification (or takes the address pasted back), or stores a token the user types. */
export async function login(name: string, options: DaemonOptions & { browser: boolean }): Promise<void> {
  await ensureDaemon(options);
  const ws = await openSocket(daemonSocket(options), CONTROL_PATH);
  const paste = new PasteBack(ws, name);
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString()) as { method?: string; params?: { server?: string; url?: string } };
    if (message.method !== AUTH_OPEN_NOTIFICATION || typeof message.params?.url !== 'string') return;
    signIn(message.params.server ?? name, message.params.url, options.browser, paste).catch((error: unknown) => {
      process.stderr.write(`mcpd: could not open a browser (${error instanceof Error ? error.message : String(error)}); visit the address above\n`);
    });
  });
  try {
    let result: LoginResult;
    try {
      result = await Promise.race([ask<LoginResult>(ws, 'auth.login', { name, browser: options.browser }), paste.failed]);
    } catch (error) {
      if (!(error instanceof McpdError) || error.code !== 'AUTH_TOKEN_NEEDED') throw error;
      process.stderr.write(`mcpd: ${error.format()}\n`);
      const token = await readToken(name);
      await ask(ws, 'auth.token', { name, token });
      return output(options, { server: name, method: 'token', stored: true }, () => `stored the token for "${name}" in the default store; mcpd sends it as Authorization: Bearer to ${name}'s server only`);
    }
    output(options, result, () => `signed in to "${result.server}" (${result.method}${result.scopes?.length ? `, scopes ${result.scopes.join(' ')}` : ''}${result.expiresAt ? `, the access token expires at ${result.expiresAt} and is refreshed before then` : ''})`);
  } finally {
    paste.stop();
    ws.close();
  }
}

/** Tells the user where to sign in, and opens the browser there unless told not to; without one, waits for the address pasted back. */
async function signIn(server: string, url: string, browser: boolean, paste: PasteBack): Promise<void> {
  const href = browsableUrl(url);
  if (href === undefined) {
    process.stderr.write(`mcpd: the sign-in address for "${server}" is not an http(s) URL, so it was not opened: ${JSON.stringify(url.slice(0, 200))}\n`);
    return;
  }
  if (browser && (await openBrowser(href))) {
    process.stderr.write(`mcpd: opened your browser to sign in to "${server}"; if it did not open, visit:\n  ${href}\n`);
    return;
  }
  process.stderr.write(`mcpd: to sign in to "${server}", open this address in a browser:\n  ${href}\n`);
  paste.start();
}

/**
 * The headless way through: the browser that signs in is on another machine, so its redirect
 * to the daemon's loopback callback fails; the user pastes the address it was sent to, and
 * `auth.complete` hands it to the daemon, which checks its state and finishes the flow. Reading
 * stops once the login is over, whichever way it ended.
 */
class PasteBack {
  #reader: ReturnType<typeof createInterface> | undefined;
  #stopped = false;
  #fail: (error: unknown) => void = () => {};
  /** Rejects when the pasted address is refused: the login cannot finish by it. */
  readonly failed = new Promise<never>((_resolve, reject) => { this.#fail = reject; });

  constructor(private readonly ws: WebSocket, private readonly name: string) {
    this.failed.catch(() => {});
  }

  start(): void {
    // A notice handled after the login ended must not leave stdin read, keeping the process alive.
    if (this.#reader || this.#stopped) return;
    process.stderr.write('then paste here the address your browser was sent to after signing in (it fails to load; that is expected), and press Enter:\n');
    this.#reader = createInterface({ input: process.stdin, terminal: false });
    this.#reader.on('line', (line) => {
      const url = line.trim();
      // Lines already read in the same chunk still come after close(): one address, no more.
      if (url === '' || this.#stopped) return;
      this.stop();
      ask(this.ws, 'auth.complete', { name: this.name, url }).catch((error: unknown) => this.#fail(error));
    });
  }

  stop(): void {
    this.#stopped = true;
    this.#reader?.close();
    // Nothing else reads stdin: left open, it would keep the process waiting for a line.
    if (this.#reader) process.stdin.destroy();
  }
}

/** The token for a server without OAuth: on a hidden prompt on a terminal, else all of stdin. */
async function readToken(name: string): Promise<string> {
  let token: string;
  if (process.stdin.isTTY) {
    const { read } = await import('read');
    token = String(await read({ prompt: `token for "${name}" (not shown): `, silent: true, replace: '*', output: process.stderr }));
  } else {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    token = Buffer.concat(chunks).toString('utf8');
  }
  token = token.trim();
  if (token === '') {
    throw new McpdError('USAGE', `no token given for "${name}"; nothing was stored`, {
      hint: `run mcpd auth login ${name} on a terminal to be asked for it, or pipe it in: printf %s "$TOKEN" | mcpd auth login ${name}`,
    });
  }
  return token;
}

/** Each url server's sign-in state: a table, or the daemon's answer with --json. */
export async function status(options: DaemonOptions): Promise<void> {
  const servers = await controlOnce<AuthStatus[]>(options, 'auth.status', {});
  output(options, servers, () => {
    if (servers.length === 0) return 'no url servers in the config';
    const rows = servers.map((s) => [s.server, s.method, s.state, s.scopes?.join(' ') ?? '', minute(s.expiresAt), minute(s.lastRefresh)]);
    return table([['SERVER', 'METHOD', 'STATE', 'SCOPES', 'EXPIRES', 'LAST REFRESH'], ...rows]);
  });
}

/** Signs out of `name`: the daemon revokes the tokens where the server offers it, then forgets them. */
export async function logout(name: string, options: DaemonOptions): Promise<void> {
  await ensureDaemon(options);
  const result = await controlOnce<{ server: string; revoked: boolean; forgot: boolean }>(options, 'auth.logout', { name });
  output(options, result, () => {
    if (!result.forgot) return `"${name}" had no stored sign-in; nothing to forget`;
    return `signed out of "${name}": ${result.revoked ? 'the authorization server revoked the tokens, and' : 'the server offers no revocation, so the tokens were not revoked (they end when they expire);'} mcpd forgot them`;
  });
}

/** One request on a connection of its own. */
async function controlOnce<T>(options: DaemonOptions, method: string, params: object): Promise<T> {
  const ws = await openSocket(daemonSocket(options), CONTROL_PATH);
  try {
    return await ask<T>(ws, method, params);
  } finally {
    ws.close();
  }
}

/** A request; a daemon started before `mcpd auth` existed says so clearly. */
async function ask<T>(ws: WebSocket, method: string, params: object): Promise<T> {
  try {
    return await request(ws, method, params) as T;
  } catch (error) {
    if (error instanceof McpdError && error.code === 'INTERNAL' && error.message.startsWith('Method not found')) {
      throw new McpdError('DAEMON_RUNNING', `the running daemon does not know ${method}: it was started by an older mcpd`, { hint: 'restart it: mcpd stop (its sessions end), then run the command again', cause: error });
    }
    throw error;
  }
}

function minute(iso: string | undefined): string {
  return iso ? iso.slice(0, 16).replace('T', ' ') : '';
}
