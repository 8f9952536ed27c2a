/**
 * RFC 9728 protected resource metadata for each `/mcp/NAME` endpoint, so an MCP client that
 * gets a 401 finds the authorization server by itself (the MCP authorization spec's discovery):
 * `GET /.well-known/oauth-protected-resource/mcp/NAME` (the path-inserted form) answers
 * `{ resource, authorization_servers, scopes_supported?, bearer_methods_supported }`, and the
 * 401 names that document in `WWW-Authenticate: Bearer resource_metadata="…"`.
 *
 * An endpoint's URL (the `resource`, and a token's default audience) is the listener's origin
 * plus `/mcp/NAME`: its `publicUrl` when set (a listener behind a reverse proxy), else the
 * scheme of the listener and the request's Host, which the TCP listener has already checked
 * against loopback and its allowedHosts (host-check.ts). A unix socket has no name of its own:
 * `http://localhost` unless `publicUrl` says otherwise.
 */
import type { IncomingMessage } from 'node:http';
import { SESSION_PATH } from '../protocol.js';

export const RESOURCE_METADATA_PATH = '/.well-known/oauth-protected-resource';
const MCP_PATH = '/mcp/';

/** What a listener knows of its own URL. */
export interface ListenerOrigin {
  /** `scheme://host[:port]` the clients use, when a reverse proxy stands in front. */
  readonly publicUrl?: string | undefined;
  /** Whether the listener serves HTTPS itself. */
  readonly tls: boolean;
  /** Whether it is a unix socket (no Host check, no name of its own). */
  readonly unix: boolean;
}

/** The endpoint a request is for, as its authorization server knows it. */
export interface ProtectedResource {
  /** The server NAME of `/mcp/NAME`. */
  readonly server: string;
  /** `ORIGIN/mcp/NAME`: the metadata's `resource`, and a token's default audience. */
  readonly resource: string;
  /** `ORIGIN/.well-known/oauth-protected-resource/mcp/NAME`, named by a 401's `resource_metadata`. */
  readonly metadataUrl: string;
}

/** The origin clients reach the listener at, for this request. */
export function originOf(req: IncomingMessage, listener: ListenerOrigin): string {
  if (listener.publicUrl !== undefined) return new URL(listener.publicUrl).origin;
  if (listener.unix) return 'http://localhost';
  return `${listener.tls ? 'https' : 'http'}://${(req.headers.host ?? 'localhost').toLowerCase()}`;
}

/**
 * The protected resource a request is for: `/mcp/NAME`, its metadata document, or a WebSocket
 * session to the same server (`/v1/session/NAME`, the same server and rights); undefined on any
 * other path (`/v1/control` is no endpoint of an authorization server's).
 */
export function protectedResource(req: IncomingMessage, url: URL, listener: ListenerOrigin): ProtectedResource | undefined {
  const server = serverOf(url.pathname);
  if (server === undefined) return undefined;
  const origin = originOf(req, listener);
  const path = `${MCP_PATH}${encodeURIComponent(server)}`;
  return { server, resource: `${origin}${path}`, metadataUrl: `${origin}${RESOURCE_METADATA_PATH}${path}` };
}

function serverOf(pathname: string): string | undefined {
  const prefix = [`${RESOURCE_METADATA_PATH}${MCP_PATH}`, MCP_PATH, SESSION_PATH].find((p) => pathname.startsWith(p));
  if (prefix === undefined) return undefined;
  try {
    const name = decodeURIComponent(pathname.slice(prefix.length));
    return name !== '' && !name.includes('/') ? name : undefined;
  } catch {
    return undefined;
  }
}

/** Whether `pathname` asks for an endpoint's metadata document. */
export function isMetadataPath(pathname: string): boolean {
  return pathname.startsWith(`${RESOURCE_METADATA_PATH}${MCP_PATH}`);
}

/** The RFC 9728 document of `resource`: tokens only in the Authorization header (bearer.ts refuses them in the URL). */
export function resourceMetadata(resource: ProtectedResource, authorizationServers: readonly string[], scopes: readonly string[]): Record<string, unknown> {
  return {
    resource: resource.resource,
    authorization_servers: [...authorizationServers],
    ...(scopes.length > 0 ? { scopes_supported: [...scopes] } : {}),
    bearer_methods_supported: ['header'],
  };
}

/**
 * A `Bearer` challenge (RFC 6750 §3) with the parameters given, in order, those undefined left
 * out: `resource_metadata` (RFC 9728 §5.1), `error`, `error_description`, `scope`.
 */
export function bearerChallenge(params: Readonly<Record<string, string | undefined>>): string {
  const parts = Object.entries(params).filter(([, value]) => value !== undefined).map(([key, value]) => `${key}="${quoted(value!)}"`);
  return parts.length === 0 ? 'Bearer' : `Bearer ${parts.join(', ')}`;
}

/** A quoted-string's content (RFC 9110 §5.6.4): a quote or backslash escaped, controls dropped. */
function quoted(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f]/g, '').replace(/["\\]/g, (c) => `\\${c}`);
}
