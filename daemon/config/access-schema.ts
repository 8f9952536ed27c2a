/**
 * Who may reach the daemon and what they may do there (README "Listeners and who may connect",
 * "Roles"): the listeners with their chains of client authentication providers, and the roles
 * those providers give. Part of the config's schema (schema.ts), kept apart for its size.
 */
import { z } from 'zod';
import { discriminatorErrors, kindOf, oneOf } from '../../core/choice.js';
import { duration } from '../../core/duration.js';
import { glob, headerName, roleName } from './fields.js';
import { isObject, pickShape, type ShapeProblem } from './shapes.js';

const LOOPBACK_HOSTS = ['127.0.0.1', '::1', 'localhost'];

/** Whether a TCP listener's host is a loopback address (no one off this machine can connect). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.includes(host);
}

/** An OAuth scope (RFC 6749 §3.3 scope-token): printable ASCII but space, `"` and `\`. */
const oauthScope = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]+$/, 'expected an OAuth scope: printable ASCII without spaces, quotes or backslashes');

/** An authorization server's URL: https, or http on a loopback host only (a test double, a local identity provider). */
const authServerUrl = z.string().superRefine((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  const loopback = url !== undefined && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url?.protocol === 'https:' || (url?.protocol === 'http:' && loopback)) return;
  ctx.addIssue({ code: 'custom', message: url ? `"${text.slice(0, 80)}" is not https: tokens are only trusted from an authorization server reached over TLS (http only on a loopback host)` : `expected an https URL such as "https://id.example.com", got "${text.slice(0, 80)}"` });
});

/**
 * One client authentication provider of a listener's chain (daemon/auth/providers/): the first
 * that accepts a request wins; when all refuse, the answer is the first one's refusal.
 */
export const authProviderSchema = z.discriminatedUnion('type', [
  /** mcpd's client tokens (`mcpd token create`, the config's `clients`), with their scopes and roles. */
  z.strictObject({ type: z.literal('bearer') }),
  /** The user and groups a trusted reverse proxy sets in headers; accepted only from `proxies`. */
  z.strictObject({
    type: z.literal('forwarded'),
    /** The proxies' addresses: IPv4 or IPv6 addresses or CIDR ranges ("10.0.0.0/8"). */
    proxies: z.array(z.string().min(1)).min(1, 'expected the reverse proxy\'s address, e.g. ["127.0.0.1"]'),
    userHeader: headerName.default('X-Forwarded-User'),
    groupsHeader: headerName.default('X-Forwarded-Groups'),
    /** Roles each forwarded group grants; a group that names a role grants that role without an entry here. */
    groupRoles: z.record(z.string().min(1), z.array(roleName)).default({}),
  }),
  /** No credentials: every request is `anonymous` with these roles. Loopback TCP listeners only. */
  z.strictObject({ type: z.literal('none'), roles: z.array(roleName).default([]) }),
  /** JWT access tokens of an existing authorization server, checked against its JWKS (daemon/auth/providers/jwt.ts). */
  z.strictObject({
    type: z.literal('jwt'),
    /** Its issuer identifier, exactly as tokens' `iss` has it; its RFC 8414 (else OpenID) metadata names the JWKS. */
    issuer: authServerUrl,
    /** The `aud` a token must hold; default: the endpoint's own URL (ORIGIN/mcp/NAME), the resource the MCP spec has clients ask for. */
    audience: z.string().min(1).optional(),
    /** The JWKS's URL, instead of the one the issuer's metadata names. */
    jwksUri: authServerUrl.optional(),
    /** The claim whose role names (an array, or a space-separated string) are taken; names not in "roles" are ignored. */
    rolesClaim: z.string().min(1).default('roles'),
    /** Scopes every token's `scope` claim must hold. */
    scopes: z.array(oauthScope).default([]),
    /** Scopes a token needs, besides `scopes`, for the server NAME (/mcp/NAME). */
    serverScopes: z.record(z.string().min(1), z.array(oauthScope)).default({}),
  }),
  /** mcpd as its own OAuth authorization server (daemon/auth/oauth/), at the listener's origin (its publicUrl behind a proxy): tokens the owner consented to, each giving `roles`. */
  z.strictObject({
    type: z.literal('oauth'),
    accessTokenTtl: duration.default('1h'),
    refreshTokenTtl: duration.default('30d'),
    /** Roles every issued token gives; without any, a token opens nothing. */
    roles: z.array(roleName).default([]),
  }),
], { errorMap: discriminatorErrors('auth provider type', 'an auth provider such as {"type": "bearer"}') });

export type AuthProviderConfig = z.output<typeof authProviderSchema>;

/** The chain of an extra listener; without `auth`, mcpd's client tokens alone. */
const authChain = z.array(authProviderSchema).min(1, 'expected at least one provider, e.g. [{"type": "bearer"}]').default([{ type: 'bearer' }]);

/** An HTTP session (`/mcp/NAME`) with no request and no open stream for this long ends, and its server with it (default 30m). */
const idleTimeout = duration.optional();

/**
 * The origin clients reach a listener at through a reverse proxy (`https://mcp.example.com`):
 * its endpoints' URLs, which `jwt` takes as a token's audience and RFC 9728 metadata names.
 */
const publicUrl = z.string().superRefine((text, ctx) => {
  let url: URL | undefined;
  try {
    url = new URL(text);
  } catch {
    // reported below
  }
  const origin = url && (url.protocol === 'https:' || url.protocol === 'http:') && !url.username && !url.password && url.search === '' && url.hash === '' && (url.pathname === '/' || url.pathname === '');
  if (!origin) ctx.addIssue({ code: 'custom', message: `expected an origin such as "https://mcp.example.com" (scheme, host and port only: endpoints are ORIGIN/mcp/NAME), got "${text.slice(0, 80)}"` });
}).optional();

/** A listener on a unix socket: the owner's group (or `group`) may connect, with the file's `mode`. */
const unixListener = z.strictObject({
  path: z.string({ required_error: 'expected the socket file\'s path, e.g. "/run/mcpd/shared.sock"' }).min(1),
  group: z.union([z.string().min(1), z.number().int().min(0)], {
    errorMap: (issue, ctx) => ({ message: issue.code === 'invalid_union' ? `expected a group name such as "staff" or a numeric group id such as 20, got ${kindOf(ctx.data)}` : ctx.defaultError }),
  }).optional(),
  mode: z.string().regex(/^0?[0-7]{3}$/, 'expected an octal mode such as "660"').default('660'),
  idleTimeout,
  publicUrl,
  auth: authChain,
});

/** A listener on a TCP port. */
const tcpListener = z.strictObject({
  /** Beyond loopback only with `tls`, or behind a trusted reverse proxy (a `forwarded` provider in `auth`). */
  host: z.string().min(1).default('127.0.0.1'),
  port: z.number({ required_error: 'expected the TCP port to listen on, e.g. 7311 (0: any free port)' }).int().min(0).max(65535),
  /** Names besides loopback that requests may carry in Host and Origin (a container's host.docker.internal). */
  allowedHosts: z.array(z.string().regex(/^[A-Za-z0-9.-]+$/, 'expected a host name without a port, such as "host.docker.internal"')).optional(),
  /** HTTPS: the PEM certificate chain's path and the private key's path or reference. */
  tls: z.strictObject({ cert: z.string().min(1), key: z.string().min(1) }).optional(),
  idleTimeout,
  publicUrl,
  auth: authChain,
});

const UNIX_ONLY = ['path', 'group', 'mode'];
const TCP_ONLY = ['host', 'port', 'allowedHosts', 'tls'];

/** `path` makes a unix socket listener, `port` (or `host`) a TCP one: a key of the other kind is named, not lost in a union's "invalid input". */
const listener = pickShape(z.union([unixListener, tcpListener]), (value): z.ZodTypeAny | ShapeProblem[] => {
  if (!isObject(value)) return [{ message: `expected a listener such as {"path": "/run/mcpd/shared.sock"} or {"port": 7311}, got ${kindOf(value)}` }];
  const has = (key: string) => Object.hasOwn(value, key);
  if (has('path') && has('port')) return [{ message: 'has both "path" and "port"; a listener is either a unix socket ("path") or a TCP port ("port", with "host")' }];
  const tcp = has('port') || (!has('path') && TCP_ONLY.some(has));
  if (!tcp && !UNIX_ONLY.some(has)) return [{ message: 'expected "path" (a unix socket listener) or "port" (a TCP listener, with "host")' }];
  const foreign = (tcp ? UNIX_ONLY : TCP_ONLY).filter(has);
  if (foreign.length === 0) return tcp ? tcpListener : unixListener;
  return foreign.map((key) => ({
    path: [key],
    message: tcp ? `"${key}" is for a unix socket listener; a TCP listener takes "host", "port", "allowedHosts" and "tls"` : `"${key}" is for a TCP listener; a unix socket listener takes "path", "group" and "mode"`,
  }));
});

/** Who may connect (README "The daemon"). Extra listeners always authenticate each request. */
export const socketSchema = z.strictObject({
  /** Refuse connections without a token even on the owner-only socket. */
  requireToken: z.boolean().default(false),
  listen: z.array(listener).default([]),
}).default({});

/** What a role grants on the servers its `server` glob matches; no `tools` (prompts, resources) list means all of them. */
const grantSchema = z.strictObject({
  server: glob,
  tools: z.array(glob).optional(),
  prompts: z.array(glob).optional(),
  resources: z.array(glob).optional(),
  /** read: only tools annotated readOnlyHint; write (the default): every tool the lists name. */
  access: oneOf(['read', 'write'], 'access level').default('write'),
});

/** What a role takes away; no list means the whole server. A deny wins over every grant. */
const denySchema = z.strictObject({
  server: glob,
  tools: z.array(glob).optional(),
  prompts: z.array(glob).optional(),
  resources: z.array(glob).optional(),
});

/** Per-subject limits; a subject with several roles gets the highest of each. */
const limitsSchema = z.strictObject({
  requestsPerMinute: z.number().int().min(1).optional(),
  sessions: z.number().int().min(1).optional(),
});

/** A named set of grants and denies (README "Roles"). */
export const roleSchema = z.strictObject({
  grants: z.array(grantSchema).default([]),
  denies: z.array(denySchema).default([]),
  limits: limitsSchema.optional(),
});

export type RoleConfig = z.output<typeof roleSchema>;
export type GrantConfig = z.output<typeof grantSchema>;
