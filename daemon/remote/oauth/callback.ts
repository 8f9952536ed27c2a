/**
 * The loopback redirect target of one sign-in (RFC 8252 §7.3): `http://127.0.0.1:PORT/callback`
 * on the first port of the candidates that is free, listening only while a sign-in waits. The
 * redirected URL is checked here, whether the browser brings it or the user pastes it back
 * (`mcpd auth login NAME --no-browser` on a headless machine): its `state` must be this
 * sign-in's, else it is someone else's page (or a stale tab) and is ignored.
 */
import { createServer, type Server } from 'node:http';
import { McpdError } from '../../../core/errors.js';

/** The ports a callback may take: `oauth.callbackPort`, else `$MCPD_OAUTH_CALLBACK_PORT`, else 8085–8099. */
export function callbackPorts(configured: number | undefined, env: Readonly<Record<string, string | undefined>>): number[] {
  if (configured !== undefined) return [configured];
  const fromEnv = Number(env.MCPD_OAUTH_CALLBACK_PORT);
  if (env.MCPD_OAUTH_CALLBACK_PORT && Number.isInteger(fromEnv) && fromEnv > 0 && fromEnv < 65536) return [fromEnv];
  return Array.from({ length: 15 }, (_, i) => 8085 + i);
}

const PAGE = (title: string, text: string) =>
  `<!doctype html><meta charset="utf-8"><title>${title}</title><body style="font-family:system-ui;margin:3em"><h1>${title}</h1><p>${text}</p></body>`;

export class Callback {
  readonly #server: Server;
  readonly #state: () => string | undefined;
  readonly #name: string;
  readonly port: number;
  readonly code: Promise<string>;
  #settle!: { resolve(code: string): void; reject(error: McpdError): void };
  #done = false;

  private constructor(server: Server, port: number, state: () => string | undefined, name: string) {
    this.#server = server;
    this.port = port;
    this.#state = state;
    this.#name = name;
    this.code = new Promise<string>((resolve, reject) => { this.#settle = { resolve, reject }; });
    // Nobody may be waiting yet when it settles (a sign-in being started).
    this.code.catch(() => {});
    server.on('request', (req, res) => {
      const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
      if (url.pathname !== '/callback') {
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
        return;
      }
      const outcome = this.#take(url);
      const [status, title, text] = outcome === 'ignored'
        ? [400, 'Not this sign-in', 'This page belongs to an older or another sign-in. Start again with <code>mcpd auth login</code> if you need to.']
        : outcome instanceof McpdError
          ? [400, 'Sign-in failed', `${escapeHtml(outcome.message)}. You can close this tab.`]
          : [200, 'Signed in', `mcpd is signed in to server "${escapeHtml(this.#name)}". You can close this tab.`];
      res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE(title, text));
    });
  }

  /** Listens on the first free port of `ports`, or fails naming them all. */
  static async listen(ports: readonly number[], state: () => string | undefined, name: string): Promise<Callback> {
    for (const port of ports) {
      const server = createServer();
      const bound = await new Promise<boolean>((resolve) => {
        server.once('error', () => resolve(false));
        server.listen({ port, host: '127.0.0.1', exclusive: true }, () => resolve(true));
      });
      if (bound) return new Callback(server, port, state, name);
    }
    const which = ports.length === 1 ? `port ${ports[0]}` : `every port from ${ports[0]} to ${ports.at(-1)}`;
    throw new McpdError('OAUTH_CALLBACK_PORT', `server "${name}": cannot take ${which} on 127.0.0.1 for the sign-in callback: in use`, {
      hint: ports.length === 1 ? 'free that port, or set oauth.callbackPort (or MCPD_OAUTH_CALLBACK_PORT) to another one' : `set oauth.callbackPort in mcpServers.${name} (or MCPD_OAUTH_CALLBACK_PORT) to a free port`,
    });
  }

  get redirectUrl(): string {
    return `http://127.0.0.1:${this.port}/callback`;
  }

  /**
   * A redirected URL pasted back by the user: settles the sign-in as the browser's visit
   * would. Throws when it is not this sign-in's (its state differs).
   */
  paste(text: string): void {
    let url: URL;
    try {
      url = new URL(text.trim());
    } catch {
      throw new McpdError('USAGE', `server "${this.#name}": what was pasted is not a URL`, { hint: 'paste the whole address the browser shows after signing in (it starts with http://127.0.0.1:)' });
    }
    const outcome = this.#take(url);
    if (outcome === 'ignored') {
      throw new McpdError('USAGE', `server "${this.#name}": the pasted address is not from this sign-in (its state differs, or it has none)`, { hint: 'paste the address from the sign-in mcpd opened last' });
    }
  }

  /** Stops waiting: `error` is why (a timeout, the daemon stopping). */
  abandon(error: McpdError): void {
    this.#finish(() => this.#settle.reject(error));
  }

  async close(): Promise<void> {
    this.#done = true;
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #take(url: URL): 'ignored' | McpdError | 'taken' {
    const params = url.searchParams;
    const expected = this.#state();
    if (expected === undefined || params.get('state') !== expected || this.#done) return 'ignored';
    const error = params.get('error');
    const code = params.get('code');
    if (error !== null || !code) {
      const described = error === 'access_denied' ? 'the sign-in was declined (access_denied)' : `the authorization server answered ${error === null ? 'without a code' : `error=${error.replace(/[^\w.-]/g, '?').slice(0, 60)}`}`;
      const problem = new McpdError('OAUTH_FAILED', `server "${this.#name}": ${described}`, { hint: `run mcpd auth login ${this.#name} to try again` });
      this.#finish(() => this.#settle.reject(problem));
      return problem;
    }
    this.#finish(() => this.#settle.resolve(code));
    return 'taken';
  }

  #finish(settle: () => void): void {
    if (this.#done) return;
    this.#done = true;
    settle();
  }
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
