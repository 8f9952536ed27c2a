/**
 * A remote server's failures as a user should read them: each names the server, the URL and
 * the fix. Network errors are read where fetch throws them (node's `cause.code`); HTTP ones
 * from the status the SDK's transports report. A response body is never quoted: it is the
 * remote server's text, not ours to print.
 */
import { STATUS_CODES } from 'node:http';
import { McpdError } from '../../core/errors.js';

/** The server a failure is about: its name and URL. */
export interface RemoteSubject {
  readonly name: string;
  readonly url: string;
}

const UNREACHABLE: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'no such host',
  EAI_AGAIN: 'the host name could not be looked up',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'the host is unreachable',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection was closed',
};

/** The error code of a fetch failure: undici puts node's error in `cause`. */
function causeCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; e = e.cause, depth++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (typeof code === 'string' && code !== 'UND_ERR') return code;
  }
  return undefined;
}

function isTlsCode(code: string): boolean {
  return /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|UNABLE_TO_GET_ISSUER|ERR_TLS|ERR_SSL|HOSTNAME_MISMATCH/.test(code);
}

/** A thrown fetch failure (refused, no such host, TLS), or undefined for anything else. */
export function networkError(error: unknown, subject: RemoteSubject): McpdError | undefined {
  const code = causeCode(error);
  if (code === undefined) return undefined;
  const who = `server "${subject.name}"`;
  if (isTlsCode(code)) {
    return new McpdError('REMOTE_TLS', `${who}: the TLS certificate of ${subject.url} is not trusted (${code})`, {
      hint: `check the URL's host name in mcpServers.${subject.name}.url; if the server uses a private CA, point NODE_EXTRA_CA_CERTS at that CA's certificate for mcpd and its daemon`,
      cause: error,
    });
  }
  const what = UNREACHABLE[code];
  if (what === undefined) return undefined;
  return new McpdError('REMOTE_UNREACHABLE', `${who}: cannot reach ${subject.url}: ${what} (${code})`, {
    hint: `check that the server is up and that mcpServers.${subject.name}.url is right (and your network or proxy lets it through)`,
    cause: error,
  });
}

/** What a request to the server carried: the config's Authorization header, a sign-in's token (OAuth, or one given to `mcpd auth login`), or nothing. */
export type Credentials = 'header' | 'sign-in' | 'none';

const REFUSED: Record<Credentials, (name: string) => [sent: string, hint: string]> = {
  header: (name) => ['to the Authorization header mcpd sent', `the token mcpServers.${name}.headers.Authorization resolves to was refused (expired, revoked, or short of a scope): store a fresh one where its reference points (mcpd secret set …)`],
  'sign-in': (name) => ['to the token mcpd signed in for', `sign in again: mcpd auth logout ${name} && mcpd auth login ${name}`],
  none: (name) => ['and mcpServers.' + name + ' sends no credentials ("oauth": false, no Authorization header)', `store the server's token (mcpd secret set ${name}/token) and send it: "headers": {"Authorization": "Bearer \${secret:${name}/token}"}, or drop "oauth": false`],
};

/** The `cause` of an McpdError for an HTTP status: the status alone, never the server's body. */
export interface HttpStatus {
  readonly status: number;
}

/** The HTTP status an McpdError was made from (statusError), if it was made from one. */
export function httpStatusOf(error: unknown): number | undefined {
  const cause = error instanceof McpdError ? (error.cause as Partial<HttpStatus> | undefined) : undefined;
  return typeof cause?.status === 'number' ? cause.status : undefined;
}

/** An HTTP status a transport reported for the URL. */
export function statusError(status: number, subject: RemoteSubject, credentials: Credentials): McpdError {
  const who = `server "${subject.name}"`;
  // What the server answered, for a caller that acts on it (a 404 to a session's request: remote-instance.ts).
  const cause: HttpStatus = { status };
  const text = `${status} ${STATUS_CODES[status] ?? ''}`.trim();
  if (status === 401 || status === 403) {
    const [sent, hint] = REFUSED[credentials](subject.name);
    return new McpdError('REMOTE_UNAUTHORIZED', `${who}: ${subject.url} answered ${text} ${sent}`, { hint, cause });
  }
  return new McpdError('REMOTE_FAILED', `${who}: ${subject.url} answered ${text}`, {
    hint: `mcpd logs ${subject.name} may say more; check the server's status page`,
    cause,
  });
}

/** The URL answers but speaks no MCP transport (a 404, a web page); `tried` says what each attempt got. */
export function notMcp(subject: RemoteSubject, tried: string): McpdError {
  return new McpdError('REMOTE_NOT_MCP', `server "${subject.name}": ${subject.url} does not speak MCP: ${tried}`, {
    hint: `set mcpServers.${subject.name}.url to the server's MCP endpoint (its documentation gives it; often it ends in /mcp, or /sse for an SSE server)`,
  });
}

/** What `error` (from a transport) means for the user, naming the server and URL. */
export function remoteError(error: unknown, subject: RemoteSubject, credentials: Credentials): McpdError {
  if (error instanceof McpdError) return error;
  const network = networkError(error, subject);
  if (network) return network;
  const status = (error as { code?: unknown }).code;
  if (typeof status === 'number' && status >= 400) return statusError(status, subject, credentials);
  if (error instanceof Error && error.constructor.name === 'UnauthorizedError') return statusError(401, subject, credentials);
  const message = error instanceof Error ? error.message : String(error);
  return new McpdError('REMOTE_FAILED', `server "${subject.name}": a request to ${subject.url} failed: ${message.slice(0, 200)}`, {
    hint: `mcpd logs ${subject.name} may say more; check that mcpServers.${subject.name}.url is the server's MCP endpoint`,
    cause: error,
  });
}
