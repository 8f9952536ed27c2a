/**
 * `oauth`: mcpd as its own OAuth authorization server (README "mcpd as an authorization
 * server"). The listener serves the authorization server's paths (daemon/auth/oauth/as-app.ts)
 * and accepts the access tokens it issued, each only at the endpoint it was issued for
 * (RFC 8707), giving the entry's roles. Tokens are opaque and kept hashed (oauth/grants.ts).
 *
 *     "auth": [{ "type": "oauth", "accessTokenTtl": "1h", "refreshTokenTtl": "30d", "roles": ["reader"] }]
 */
import ms from 'ms';
import { McpdError } from '../../../core/errors.js';
import type { AuthProviderConfig } from '../../config/schema.js';
import type { ClientAccess } from '../access.js';
import type { Consent, OAuthIssuer } from '../oauth/issuer.js';
import { consentEvent } from '../oauth/consent-record.js';
import type { AuditSink } from '../../audit/audit.js';
import { type AuthServerApp, createAuthServerApp, isAuthServerPath } from '../oauth/as-app.js';
import { holds, type Principal } from '../scopes.js';
import { invalid, presentedToken } from '../token.js';
import { tokenRequired } from './bearer.js';
import { bearerChallenge, type ListenerOrigin, originOf } from '../../gateway/resource-metadata.js';
import type { ClientAuthProvider } from './provider.js';

type OAuthEntry = Extract<AuthProviderConfig, { type: 'oauth' }>;

export interface OAuthContext {
  readonly issuer: OAuthIssuer;
  readonly access: ClientAccess;
  /** Logs an event of the authorization server (names and codes, never a value). */
  readonly note: (event: string, fields: Record<string, unknown>) => void;
  /** Where a consent's decision is recorded. */
  readonly audit: AuditSink | undefined;
  /** What the listener knows of its own URL: the issuer is its origin. */
  readonly listener: ListenerOrigin;
}

/** The principal an access token stands for: its grant, named after the client that holds it. */
export function grantPrincipal(grant: { id: string; clientName: string; roles: readonly string[] }): Principal {
  return { kind: 'token', subject: `oauth:${grant.id}`, name: `oauth:${grant.id}`, source: 'oauth', scopes: [], roles: grant.roles };
}

/** The provider of an `{ "type": "oauth" }` entry. */
export function oauthProvider(entry: OAuthEntry, context: OAuthContext): ClientAuthProvider {
  const { issuer } = context;
  const ttl = { access: ms(entry.accessTokenTtl as ms.StringValue), refresh: ms(entry.refreshTokenTtl as ms.StringValue) };
  const apps = new Map<string, Promise<AuthServerApp>>();
  const appFor = (origin: string): Promise<AuthServerApp> => {
    let app = apps.get(origin);
    if (!app) {
      const settings = { issuer: new URL(origin), ttl, roles: entry.roles };
      const consent = {
        issuer,
        owner: (token: string) => ownerBy(context.access, token),
        decided: (c: Consent, by: Principal) => context.audit?.by(by).record(consentEvent(c)),
      };
      app = createAuthServerApp(settings, consent, (error) => context.note('oauth.error', { error: error instanceof Error ? error.message : String(error) }));
      apps.set(origin, app);
    }
    return app;
  };
  return {
    type: 'oauth',
    authenticate: ({ req, url, resource }) => {
      const token = presentedToken(req, url);
      if (token === undefined) throw tokenRequired(url);
      const grant = issuer.store.byAccess(token);
      if (!grant) throw invalid('the token presented is not an OAuth access token mcpd issued', 'the client asks for a new one (it signs in again); mcpd token ls lists the OAuth grants');
      const who = `the OAuth access token of "${grant.clientName}" (oauth:${grant.id})`;
      const problem = issuer.problemOf(grant, 'access');
      if (problem) throw invalid(`${who} ${problem}`, 'the client refreshes it or signs in again');
      // RFC 8707: the endpoint it was issued for (/v1/session/NAME is the same server's), origin and all.
      if (resource?.resource !== grant.resource) {
        throw invalid(`${who} was issued for ${new URL(grant.resource).pathname}, not ${url.pathname}`, `the client asks for a token for ${resource?.resource ?? 'this endpoint'} (the resource parameter, RFC 8707)`);
      }
      issuer.touch(grant);
      return grantPrincipal(grant);
    },
    challenge: (refusal, resource) => bearerChallenge({
      resource_metadata: resource?.metadataUrl,
      error: refusal.code === 'TOKEN_INVALID' ? 'invalid_token' : undefined,
    }),
    authorizationServers: (resource) => (resource ? [`${new URL(resource.resource).origin}/`] : []),
    serve: (req, res) => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (!isAuthServerPath(path)) return false;
      void appFor(originOf(req, context.listener)).then((app) => app(req, res), (error: unknown) => {
        context.note('oauth.error', { error: error instanceof Error ? error.message : String(error) });
        if (!res.headersSent) res.writeHead(500).end();
      });
      return true;
    },
  };
}

/** Whether a token on the consent page is the owner's: a client token holding admin. */
function ownerBy(access: ClientAccess, token: string): { ok: true; who: Principal } | { ok: false; why: string } {
  if (token === '') return { ok: false, why: 'enter an owner token (a client token with the admin scope), or approve with mcpd auth approve on the owner\'s machine' };
  let principal: Principal;
  try {
    principal = access.verify(token, '/oauth/consent');
  } catch (error) {
    return { ok: false, why: error instanceof McpdError ? error.message : 'the token was refused' };
  }
  if (!holds(principal, 'admin')) return { ok: false, why: `${principal.subject} lacks the admin scope needed to approve an authorization request` };
  return { ok: true, who: principal };
}
