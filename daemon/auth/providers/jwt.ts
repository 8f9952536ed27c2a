/**
 * `jwt`: JWT access tokens of an existing OAuth authorization server (the MCP spec's resource
 * server model), `Authorization: Bearer JWT`, checked with jose against the issuer's JWKS
 * (jwks.ts): signature, `iss`, `aud` (by default the endpoint's own URL, ORIGIN/mcp/NAME, the
 * resource the MCP spec has clients ask a token for), `exp` and `nbf` with LEEWAY_S of leeway,
 * and the scopes of its `scope` claim. Roles come from `rolesClaim`; names not in the config's
 * `roles` are ignored, so an identity provider's other groups give nothing.
 *
 *     "auth": [{ "type": "jwt", "issuer": "https://id.example.com", "rolesClaim": "roles",
 *                "scopes": ["mcp"], "serverScopes": { "github": ["mcp:github"] } }]
 *
 * Its listener publishes RFC 9728 metadata naming the issuer (daemon/gateway/resource-metadata.ts),
 * and its 401s point there, so an MCP client finds the authorization server by itself.
 */
import { McpdError } from '../../../core/errors.js';
import { own } from '../../../core/own.js';
import type { AuthProviderConfig, RoleConfig } from '../../config/schema.js';
import { bearerChallenge } from '../../gateway/resource-metadata.js';
import type { Principal } from '../scopes.js';
import { presentedToken } from '../token.js';
import { keySource } from './jwks.js';
import type { ClientAuthProvider } from './provider.js';
import { missingScopes } from './scope-claim.js';
import type { JWTPayload, JWTVerifyGetKey } from './vendored-jose.js';

type JwtEntry = Extract<AuthProviderConfig, { type: 'jwt' }>;

/** Clock skew allowed on `exp`, `nbf` and `iat`, in seconds. */
export const LEEWAY_S = 30;
/** The longest Authorization header taken: a JWT with many claims, well under Node's 16 KiB of headers. */
const MAX_HEADER = 8192;
const MAX_SUB = 256;
const CONTROL = /\p{Cc}/u;

/** The provider of a `{ "type": "jwt" }` entry; `where` names it in errors (`socket.listen[N].auth[M]`). */
export function jwtProvider(entry: JwtEntry, roles: () => Readonly<Record<string, RoleConfig>>, where: string, keys: () => Promise<JWTVerifyGetKey> = keySource(entry, where)): ClientAuthProvider {
  const name = `${where} (jwt)`;
  const needed = (server: string | undefined) => [...new Set([...entry.scopes, ...(server === undefined ? [] : own(entry.serverScopes, server) ?? [])])];
  const invalid = (why: string) => new McpdError('JWT_INVALID', `${name} refused the token: ${why}`, {
    hint: `get a new access token from ${entry.issuer} for this endpoint (an MCP client does so itself, following the 401's resource_metadata)`,
  });
  return {
    type: 'jwt',
    authenticate: async ({ req, url, resource }) => {
      const token = presentedToken(req, url, MAX_HEADER);
      if (token === undefined) {
        throw new McpdError('TOKEN_REQUIRED', `${url.pathname} needs an access token from ${entry.issuer} on this listener`, {
          hint: `send "Authorization: Bearer TOKEN" with a token ${entry.issuer} issued for ${entry.audience ?? resource?.resource ?? 'this endpoint'}`,
        });
      }
      const audience = entry.audience ?? resource?.resource;
      if (audience === undefined) throw invalid(`${url.pathname} is no endpoint an access token is issued for (those are /mcp/NAME)`);
      const { jwtVerify } = await import('./vendored-jose.js');
      let payload: JWTPayload;
      try {
        // The keys are asked for once the token parses as a JWS: another provider's token costs no discovery.
        const key: JWTVerifyGetKey = async (header, input) => (await keys())(header, input);
        ({ payload } = await jwtVerify(token, key, { issuer: entry.issuer, audience, clockTolerance: LEEWAY_S, requiredClaims: ['exp', 'sub'] }));
      } catch (error) {
        if (error instanceof McpdError) throw error;
        throw refusalOf(error, entry.issuer, audience, name, invalid);
      }
      const missing = missingScopes(payload.scope, needed(resource?.server));
      if (missing.length > 0) {
        const what = resource ? `server "${resource.server}"` : url.pathname;
        throw new McpdError('SCOPE_INSUFFICIENT', `${name}: the token lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(' ')} needed for ${what}`, {
          hint: `ask ${entry.issuer} for a token with scope "${needed(resource?.server).join(' ')}"`,
        });
      }
      const sub = payload.sub!;
      if (sub.length > MAX_SUB || CONTROL.test(sub)) throw invalid(`its sub claim is over ${MAX_SUB} characters or holds control characters`);
      const principal: Principal = {
        kind: 'jwt', subject: `jwt:${sub}@${issuerLabel(entry.issuer)}`, issuer: entry.issuer, roles: rolesOf(claimOf(payload, entry.rolesClaim), roles()),
        // The moment jose stops taking it: a WebSocket session, which cannot present a new one, ends then.
        expiresAt: (payload.exp! + LEEWAY_S) * 1000,
      };
      return principal;
    },
    challenge: (refusal, resource) => bearerChallenge({
      resource_metadata: resource?.metadataUrl,
      error: refusal.code === 'SCOPE_INSUFFICIENT' ? 'insufficient_scope' : refusal.code === 'JWT_INVALID' || refusal.code === 'TOKEN_INVALID' ? 'invalid_token' : undefined,
      scope: needed(resource?.server).join(' ') || undefined,
    }),
    authorizationServers: () => [entry.issuer],
    scopesSupported: (server) => needed(server),
  };
}

/** The refusal of a token jose would not verify: what failed, with the claims that failed, never the token. */
function refusalOf(error: unknown, issuer: string, audience: string, name: string, invalid: (why: string) => McpdError): McpdError {
  const { code, claim, payload, message } = error as { code?: string; claim?: string; payload?: JWTPayload; message?: string };
  const shown = (value: unknown) => (JSON.stringify(value) ?? 'nothing').slice(0, 100);
  const time = (seconds: unknown) => (typeof seconds === 'number' ? new Date(seconds * 1000).toISOString() : shown(seconds));
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return invalid(`it expired at ${time(payload?.exp)} (${LEEWAY_S} s of leeway)`);
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      if (claim === 'iss') return invalid(`it was issued by ${shown(payload?.iss)}, not ${issuer}`);
      if (claim === 'aud') return invalid(`it is for ${shown(payload?.aud)}, not ${audience}`);
      if (claim === 'nbf') return invalid(`it is not valid before ${time(payload?.nbf)} (${LEEWAY_S} s of leeway)`);
      if (claim === 'iat') return invalid(`it was issued in the future (${time(payload?.iat)})`);
      return invalid(`its ${claim ?? 'claims'} claim: ${message ?? 'failed'}`);
    case 'ERR_JWKS_NO_MATCHING_KEY':
      return invalid(`it is signed by a key ${issuer} does not publish in its JWKS`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return invalid('its signature does not verify');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return invalid(`it is not a JWT mcpd can verify (${message ?? code})`);
    default:
      return new McpdError('ISSUER_UNREACHABLE', `${name} cannot fetch the signing keys of ${issuer}: ${message ?? String(error)}`, {
        hint: `check that ${issuer} answers (mcpd fetches the JWKS its metadata names)`,
        cause: error,
      });
  }
}

/** `id.example.com` or `id.example.com/realms/eng`: enough of the issuer to tell two apart in a subject. */
function issuerLabel(issuer: string): string {
  const url = new URL(issuer);
  return `${url.host}${url.pathname.replace(/\/$/, '')}`;
}

/** The roles claim: `name` itself, else the dotted path (`realm_access.roles`). */
function claimOf(payload: JWTPayload, name: string): unknown {
  if (Object.hasOwn(payload, name)) return payload[name];
  let value: unknown = payload;
  for (const part of name.split('.')) {
    value = typeof value === 'object' && value !== null && Object.hasOwn(value, part) ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

/** The roles named (an array of names, or a space-separated string) that the config defines. */
function rolesOf(claim: unknown, roles: Readonly<Record<string, RoleConfig>>): string[] {
  const names = Array.isArray(claim) ? claim.filter((n): n is string => typeof n === 'string') : typeof claim === 'string' ? claim.split(' ') : [];
  return [...new Set(names.filter((n) => own(roles, n) !== undefined))];
}
