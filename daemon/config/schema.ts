/**
 * The config file's shape, in the `mcpServers` form every MCP host uses, so an existing block
 * can be pasted in. Parsed once with zod into plain typed objects; defaults live here and
 * nowhere else, except each provider's, which live with its backend's settings (composed from
 * providers/backends.ts). Unknown keys are errors: a typo must not silently drop a setting.
 *
 * zod 3, not 4: every zod 4 entry point loads all its locales (~60 ms measured), and this file
 * is on the path of every `mcpd run` a host app starts.
 */
import { z } from 'zod';
import { discriminatorErrors, kindOf, oneOf, shownValue, unknownChoice } from '../../core/choice.js';
import { duration, isDuration } from '../../core/duration.js';
import { backends, type ProviderType } from '../../providers/backends.js';
import { scopeProblem } from '../auth/scopes.js';
import { glob, headerName, roleName } from './fields.js';
import { roleSchema, socketSchema } from './access-schema.js';
import { isObject, pickShape } from './shapes.js';

export { authProviderSchema, type AuthProviderConfig, type GrantConfig, isLoopbackHost, type RoleConfig, roleSchema, socketSchema } from './access-schema.js';

const envName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected an environment variable name');

const rules = { allow: z.array(glob).optional(), deny: z.array(glob).optional() };

/** What a server exposes to the host app: the same policy keys for a command and a url server. */
const exposure = {
  /** Globs (deny wins); `readOnly` also hides every tool not annotated readOnlyHint. */
  tools: z.strictObject({ ...rules, readOnly: z.boolean().optional() }).optional(),
  prompts: z.strictObject(rules).optional(),
  /** Globs over a resource's URI (or name; a template's uriTemplate). */
  resources: z.strictObject(rules).optional(),
  description: z.string().optional(),
};

/** A server mcpd starts itself, on stdio. */
export const localServerSchema = z.strictObject({
  /** Accepted so a block pasted from Claude Code or VS Code parses. */
  type: z.literal('stdio').optional(),
  command: z.string().min(1, 'expected the command that starts the server'),
  args: z.array(z.string()).default([]),
  env: z.record(envName, z.string()).default({}),
  cwd: z.string().optional(),
  /** Extra variables of the caller's environment to pass on: true for all, or a list of names. */
  inheritEnv: pickShape(z.union([z.boolean(), z.array(envName)]), (value) =>
    typeof value === 'boolean' ? z.boolean() : Array.isArray(value) ? z.array(envName) : [{ message: `expected true (all of the caller's environment), false, or a list of variable names such as ["LANG"], got ${kindOf(value)}` }]).default(false),
  /** Variables that may resolve to nothing (missing or empty); they are then left out. */
  optional: z.array(envName).default([]),
  /** How long one set of injected values lives before the daemon rolls the server onto fresh ones. */
  ttl: duration.optional(),
  /** false: fresh values restart the server and close its sessions (the host app reconnects) instead of a seamless roll. */
  rollover: z.boolean().default(true),
  /** Instances kept started ahead of need, references resolved and waiting for their initialize (README "Warm pool"). */
  warm: z.number().int().min(0).max(16).default(0),
  ...exposure,
});


/** OAuth 2.1 settings of a url server (README "Remote servers"); every key is optional. */
const oauthSchema = z.strictObject({
  clientId: z.string().min(1).optional(),
  /** A reference, as env values are. */
  clientSecret: z.string().min(1).optional(),
  scopes: z.array(z.string().min(1)).optional(),
  callbackPort: z.number().int().min(1).max(65535).optional(),
  clientMetadataUrl: z.string().url().optional(),
  tokenEndpointAuthMethod: oneOf(['client_secret_basic', 'client_secret_post', 'none', 'private_key_jwt'], 'token endpoint auth method').optional(),
  grant: z.literal('client_credentials', { errorMap: (_issue, ctx) => ({ message: `${unknownChoice('grant', ctx.data, ['client_credentials'])} (leave "grant" out for a user's sign-in)` }) }).optional(),
  /** For private_key_jwt (RFC 7523): a reference to the PEM (PKCS#8) key, or a JWK as JSON, that signs the client assertion. */
  privateKey: z.string().min(1).optional(),
  /** The JWS algorithm of that assertion: the key's type alone leaves it open (an RSA key signs RS256 or PS256). */
  signingAlgorithm: oneOf(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'], 'signing algorithm').default('RS256'),
  /** How long a sign-in may wait for the user before it fails. */
  timeout: duration.default('5m'),
});

export type OAuthSettings = z.infer<typeof oauthSchema>;

/** A server mcpd reaches over HTTP: Streamable HTTP (`http`, falling back to legacy SSE) or legacy SSE alone. */
export const remoteServerSchema = z.strictObject({
  type: z.enum(['http', 'sse'], { errorMap: (_issue, ctx) => ({ message: `expected "http" (Streamable HTTP, the default) or "sse" (the legacy SSE transport) for a url server, got ${shownValue(ctx.data)}` }) }).default('http'),
  url: z.string().superRefine((text, ctx) => {
    const problem = urlProblem(text);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  }),
  /** Sent to the server's own origin only; values may hold references, as env does. */
  headers: z.record(headerName, z.string()).default({}),
  oauth: pickShape(z.union([z.literal(false), oauthSchema]), (value) =>
    value === false ? z.literal(false) : isObject(value) ? oauthSchema : [{ message: 'expected false (no OAuth) or an object of OAuth settings such as {"clientId": "mcpd"}' }]).optional(),
  /** How long one set of header values lives before the daemon rolls the session onto fresh ones. */
  ttl: duration.optional(),
  rollover: z.boolean().default(true),
  ...exposure,
});

function urlProblem(text: string): string | undefined {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an http or https URL such as "https://mcp.example.com/mcp", got "${text.slice(0, 80)}"`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return `expected an http or https URL, got a ${url.protocol} one`;
  if (url.username || url.password) return 'a URL must not carry a user name or password: URLs end up in logs; put the credential in "headers"';
  return undefined;
}

/** Keys only one kind of server takes, with what the other kind uses instead. */
const LOCAL_ONLY = ['command', 'args', 'env', 'cwd', 'inheritEnv', 'optional', 'warm'];
const REMOTE_ONLY = ['url', 'headers', 'oauth'];
const SERVER_TYPES = ['stdio', 'http', 'sse'];

/**
 * A server is a command or a url, never both: `url` picks the remote shape. Read in two steps
 * (like providerSchema) so a mixed entry gets one message naming the key, not a union's noise.
 */
export const serverSchema = z.object({}).passthrough().transform((value: Record<string, unknown>, ctx) => {
  const has = (key: string) => Object.hasOwn(value, key);
  // With a url, the url shape's own `type` says what a url server takes.
  if (has('type') && !has('url') && !SERVER_TYPES.includes(value.type as string)) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: `${unknownChoice('server type', value.type, SERVER_TYPES)} ("stdio": a command mcpd starts; "http", "sse": a URL)` });
    return z.NEVER;
  }
  if (has('command') && has('url')) {
    ctx.addIssue({ code: 'custom', message: 'has both "command" and "url"; a server is either a command mcpd starts or a URL it connects to', path: [] });
    return z.NEVER;
  }
  const remote = has('url') || value.type === 'http' || value.type === 'sse';
  const foreign = (remote ? LOCAL_ONLY : REMOTE_ONLY).filter(has);
  for (const key of foreign) {
    ctx.addIssue({
      code: 'custom',
      path: [key],
      message: remote && key === 'warm'
        ? '"warm" keeps processes started ahead of need; a url server has no process to start (remove "warm")'
        : remote
        ? `"${key}" is for a command server; a url server takes "url", "headers" and "oauth"`
        : `"${key}" is for a url server; a command server takes "command", "args" and "env"`,
    });
  }
  if (foreign.length > 0) return z.NEVER;
  if (!remote && !has('command')) {
    ctx.addIssue({ code: 'custom', message: 'expected "command" (a server mcpd starts) or "url" (a server it connects to)', path: [] });
    return z.NEVER;
  }
  const parsed = (remote ? remoteServerSchema : localServerSchema).safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue);
    return z.NEVER;
  }
  return parsed.data as ServerConfig;
});

/** Each backend's `providers.NAME` block, by type: the schemas live with the backends (providers/backends.ts); scripts/config-schema.ts shows them as one union in the JSON Schema. */
export const providerSchemas = Object.fromEntries(Object.entries(backends).map(([type, backend]) => [type, backend.settings])) as { [T in ProviderType]: (typeof backends)[T]['settings'] };

export const providerTypes = Object.keys(providerSchemas) as ProviderType[];

/** Validates `type` first so an unknown type gets one clear message instead of a union's noise. */
export const providerSchema = z.object({}).passthrough().transform((value: Record<string, unknown>, ctx) => {
  const type = Object.hasOwn(value, 'type') ? value.type : undefined;
  // Own keys only: "constructor" or "__proto__" must get the message below, not Object's members.
  const schema = typeof type === 'string' && Object.hasOwn(providerSchemas, type) ? providerSchemas[type as ProviderType] : undefined;
  if (!schema) {
    ctx.addIssue({ code: 'custom', path: ['type'], message: unknownChoice('provider type', type, providerTypes) });
    return z.NEVER;
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue(issue);
    return z.NEVER;
  }
  return parsed.data;
});

/** A file in the state dir that becomes FILE.1 when a line would take it past maxBytes, `keep` old files kept. */
const fileLimits = z.strictObject({
  maxBytes: z.number().int().min(4096).default(10 * 1024 * 1024),
  keep: z.number().int().min(0).max(20).default(3),
}).default({});

/** The daemon's own settings. Restart backoff follows README "Running servers". */
export const daemonSchema = z.strictObject({
  /** The largest JSON-RPC message a session passes, either way; a bigger one closes that session. */
  maxMessageBytes: z.number().int().min(1024).default(32 * 1024 * 1024),
  restart: z.strictObject({
    initialDelay: duration.default('5s'),
    maxDelay: duration.default('60s'),
    stableAfter: duration.default('30s'),
    maxRestarts: z.number().int().min(0).default(5),
  }).default({}),
  /** A roll waits this long for the old instance's requests in flight (and the new one's initialize answer). */
  rollover: z.strictObject({
    drainTimeout: duration.default('30s'),
  }).default({}),
  /** The audit log in the state dir: rotated when it would pass maxBytes, `keep` old files kept. */
  audit: fileLimits,
  /** `daemon.log` and each server's `logs/NAME.log`, capped and rotated as the audit log is. */
  log: fileLimits,
  /** The most sessions (each a server process, with its leases) one subject (a client token, a forwarded user) may hold open at once, unless one of its roles sets limits.sessions (the highest applies); the owner has no cap. */
  maxSessionsPerToken: z.number().int().min(1).default(32),
  /** The most requests one subject may send a minute, over all its sessions, unless one of its roles sets limits.requestsPerMinute (the highest applies); unset: no limit. The owner has none. */
  requestsPerMinute: z.number().int().min(1).optional(),
}).default({});

const scope = z.string().superRefine((text, ctx) => {
  const problem = scopeProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});


/** A host app's token, declared in the config: only its SHA-256 (`mcpd token create` keeps its own in the state dir). */
export const clientSchema = z.strictObject({
  tokenSha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'expected the token\'s SHA-256 as 64 hex digits'),
  scopes: z.array(scope).default([]),
  /** Names of the config's `roles`. */
  roles: z.array(roleName).default([]),
  /** When the token stops working (ISO 8601 time). */
  expires: z.string().datetime({ offset: true, message: 'expected an ISO 8601 time such as "2026-01-31T00:00:00Z"' }).optional(),
}).refine((client) => client.scopes.length > 0 || client.roles.length > 0, { message: 'expected at least one scope or role, e.g. "scopes": ["launch:github"] or "roles": ["reader"]' });


/** argv of a command mcpd runs without a shell. */
const argv = z.array(z.string()).min(1, 'expected the command as a list, e.g. ["./register-key.sh"]');

/**
 * `every`: a duration (`90d`) or a cron expression of 5 or 6 fields (`0 3 1 * *`); the cron
 * expression itself is checked by the daemon, which alone loads the cron library.
 */
const every = z.string().refine((text) => isDuration(text) || /^\S+(\s+\S+){4,5}$/.test(text.trim()), {
  message: 'expected a duration such as "90d" or a cron expression such as "0 3 1 */3 *"',
});

const schedule = { every, warnBefore: duration.default('14d') };
/** What mcpd runs around a new value: `apply` registers it upstream, `revoke` retires the old after `grace`. */
const upstream = { apply: argv.optional(), revoke: argv.optional(), grace: duration.default('1h') };

/** One stored secret's rotation (README "Rotation"); its key is a reference without `${}`. */
export const rotationSchema = z.discriminatedUnion('strategy', [
  z.strictObject({ strategy: z.literal('remind'), ...schedule }),
  z.strictObject({
    strategy: z.literal('generate'), ...schedule, ...upstream,
    /** Random bytes in the new value. */
    length: z.number().int().min(16).max(256).default(32),
    encoding: oneOf(['hex', 'base64url'], 'encoding').default('hex'),
  }),
  /** `command` prints the new value on stdout. */
  z.strictObject({ strategy: z.literal('command'), ...schedule, ...upstream, command: argv }),
  z.strictObject({ strategy: z.literal('vault'), ...schedule }),
], { errorMap: discriminatorErrors('rotation strategy', 'a rotation such as {"strategy": "remind", "every": "90d"}') });

export const configSchema = z.strictObject({
  /** The JSON Schema an editor checks the file against (`mcpd config schema` prints it); mcpd ignores it. */
  $schema: z.string().optional(),
  mcpServers: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a server name of letters, digits, _ . -'), serverSchema).default({}),
  providers: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'expected a provider name of letters, digits, _ . -'), providerSchema).default({}),
  daemon: daemonSchema,
  rotation: z.record(z.string().min(1), rotationSchema).default({}),
  clients: z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'expected a client name of letters, digits, _ . -'), clientSchema).default({}),
  roles: z.record(roleName, roleSchema).default({}),
  socket: socketSchema,
});

export type LocalServerConfig = z.output<typeof localServerSchema>;
export type RemoteServerConfig = z.output<typeof remoteServerSchema>;
export type ServerConfig = LocalServerConfig | RemoteServerConfig;
export type Config = z.output<typeof configSchema>;
export type SocketSettings = z.output<typeof socketSchema>;
export type ListenSpec = SocketSettings['listen'][number];
export type DaemonSettings = z.output<typeof daemonSchema>;
export type RotationConfig = z.output<typeof rotationSchema>;

/** Whether `server` is reached over HTTP rather than started. */
export function isRemote(server: ServerConfig): server is RemoteServerConfig {
  return 'url' in server;
}

export const emptyConfig: Config = configSchema.parse({});
