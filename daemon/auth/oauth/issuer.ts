/**
 * mcpd as its own authorization server, without the HTTP: consents waiting for the owner,
 * authorization codes (in memory, one minute, single use), and the grants of grants.ts. The
 * SDK's router (as-app.ts) calls it through server-provider.ts; the `oauth` provider
 * (providers/oauth.ts) asks it who an access token is; `mcpd token ls/revoke` and
 * `mcpd auth approve/deny` reach it through the control channel. It throws IssuerRefusal,
 * which server-provider.ts turns into the OAuth error the client expects.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Clock } from '../../../core/clock.js';
import { McpdError } from '../../../core/errors.js';
import { sha256Hex } from '../token.js';
import { type TokenInfo, USE_NOTED_MS } from '../access.js';
import { canonicalResource } from './resource.js';
import { type Grant, type GrantStore, type GrantTerms, type IssuedTokens, newSecret, type OAuthClient } from './grants.js';

/** How long a consent waits for the owner, and a code for its exchange. */
const CONSENT_TTL_MS = 10 * 60_000;
const CODE_TTL_MS = 60_000;

/** A refusal in OAuth's words: `error` is the RFC 6749 code, `description` never holds a token. */
export class IssuerRefusal extends Error {
  constructor(readonly error: 'invalid_grant' | 'invalid_target' | 'access_denied' | 'invalid_request', readonly description: string) {
    super(description);
  }
}

/** What a client asked for at /authorize, as the SDK checked it. */
export interface AuthorizationAsk {
  readonly clientId: string;
  readonly clientName: string;
  readonly redirectUri: string;
  readonly scopes: readonly string[];
  readonly codeChallenge: string;
  readonly state: string | undefined;
  readonly resource: string;
  readonly roles: readonly string[];
}

export interface Consent {
  readonly id: string;
  /** Known only to the browser that asked (its consent URL) and to the page's form: the anti-CSRF token. */
  readonly key: string;
  readonly ask: AuthorizationAsk;
  readonly createdAt: number;
  decision: 'pending' | 'approved' | 'denied';
  decidedBy?: string;
}

interface Code {
  readonly ask: AuthorizationAsk;
  readonly expiresAt: number;
}

export interface Ttl {
  readonly access: number;
  readonly refresh: number;
}

export class OAuthIssuer {
  readonly #store: GrantStore;
  readonly #clock: Clock;
  readonly #consents = new Map<string, Consent>();
  /** By the code's SHA-256: a code is a credential too. */
  readonly #codes = new Map<string, Code>();

  /** Called after a grant is revoked here (a reused refresh token, RFC 7009): the daemon ends its sessions. */
  onRevoked: () => void = () => {};

  constructor(store: GrantStore, clock: Clock) {
    this.#store = store;
    this.#clock = clock;
  }

  /** A client's registration (RFC 7591), kept with the grants. */
  register(client: OAuthClient): Promise<void> {
    return this.#store.addClient(client, this.#clock.now());
  }

  get store(): GrantStore {
    return this.#store;
  }

  /** A consent for the owner to decide. */
  ask(ask: AuthorizationAsk): Consent {
    this.#sweep();
    const consent: Consent = { id: randomBytes(4).toString('hex'), key: randomBytes(24).toString('base64url'), ask, createdAt: this.#clock.now(), decision: 'pending' };
    this.#consents.set(consent.id, consent);
    return consent;
  }

  /** The consents still waiting, for `mcpd auth pending`. */
  pending(): Consent[] {
    this.#sweep();
    return [...this.#consents.values()].filter((c) => c.decision === 'pending');
  }

  /** The consent `id` when `key` is its key (compared in constant time); undefined otherwise. */
  consent(id: string, key: string): Consent | undefined {
    this.#sweep();
    const consent = this.#consents.get(id);
    if (!consent) return undefined;
    const a = Buffer.from(consent.key);
    const b = Buffer.from(key);
    return a.length === b.length && timingSafeEqual(a, b) ? consent : undefined;
  }

  /** The owner's answer to a consent; `by` names who decided, for the audit log. */
  decide(id: string, approve: boolean, by: string): Consent {
    this.#sweep();
    const consent = this.#consents.get(id);
    if (!consent || consent.decision !== 'pending') {
      throw new McpdError('NOT_FOUND', `no authorization request ${id} is waiting`, { hint: 'mcpd auth pending lists the ones waiting; a request waits 10 minutes' });
    }
    consent.decision = approve ? 'approved' : 'denied';
    consent.decidedBy = by;
    return consent;
  }

  /** The code an approved consent hands its browser, once: the consent is gone after. */
  codeFor(consent: Consent): string {
    this.#consents.delete(consent.id);
    const code = newSecret('mcpdac_');
    this.#codes.set(sha256Hex(code), { ask: consent.ask, expiresAt: this.#clock.now() + CODE_TTL_MS });
    return code;
  }

  /** Forgets a consent (denied, delivered). */
  drop(consent: Consent): void {
    this.#consents.delete(consent.id);
  }

  /** The PKCE challenge of a live code of `clientId`. */
  challengeOf(clientId: string, code: string): string {
    return this.#code(clientId, code, false).ask.codeChallenge;
  }

  /** Exchanges a code (used up whether or not this succeeds) for a new family of tokens. */
  async exchange(clientId: string, code: string, redirectUri: string | undefined, resource: string | undefined, ttl: Ttl): Promise<IssuedTokens> {
    const { ask } = this.#code(clientId, code, true);
    if (redirectUri !== undefined && redirectUri !== ask.redirectUri) throw new IssuerRefusal('invalid_grant', 'redirect_uri differs from the one the code was issued to');
    if (resource !== undefined && !sameEndpoint(resource, ask.resource)) throw new IssuerRefusal('invalid_target', `the code was issued for ${ask.resource}, not ${resource}`);
    const terms: GrantTerms = { clientId, clientName: ask.clientName, scopes: [...ask.scopes], resource: ask.resource, roles: [...ask.roles] };
    return this.#store.issue(terms, this.#clock.now(), ttl);
  }

  /** Rotates a refresh token; one presented twice revokes its family. */
  async refresh(clientId: string, token: string, resource: string | undefined, ttl: Ttl): Promise<IssuedTokens> {
    const found = this.#store.byRefresh(token);
    if (!found || found.grant.clientId !== clientId) throw new IssuerRefusal('invalid_grant', 'unknown refresh token');
    const { grant, used } = found;
    if (used) {
      if (await this.#store.revoke(grant.id, this.#clock.now(), 'a used refresh token was presented again')) this.onRevoked();
      throw new IssuerRefusal('invalid_grant', 'this refresh token was used already: every token of its grant is revoked');
    }
    const problem = this.problemOf(grant, 'refresh');
    if (problem) throw new IssuerRefusal('invalid_grant', `the refresh token ${problem}`);
    if (resource !== undefined && !sameEndpoint(resource, grant.resource)) throw new IssuerRefusal('invalid_target', `the grant is for ${grant.resource}, not ${resource}`);
    return this.#store.rotate(grant, this.#clock.now(), ttl);
  }

  /** RFC 7009: revokes the family of an access or refresh token of `clientId`; silent on anything else. */
  async revokeToken(clientId: string, token: string): Promise<void> {
    const grant = this.#store.byAccess(token) ?? this.#store.byRefresh(token)?.grant;
    if (grant && grant.clientId === clientId && (await this.#store.revoke(grant.id, this.#clock.now(), 'revoked by its client'))) this.onRevoked();
  }

  /** Notes a grant's use, at most once a minute (the file is rewritten for it). */
  touch(grant: Grant): void {
    const now = this.#clock.now();
    if (grant.lastUsedAt === undefined || now - Date.parse(grant.lastUsedAt) >= USE_NOTED_MS) this.#store.touch(grant, now);
  }

  /** Whether grant `name` (`oauth:ID`) still holds: a session it opened lasts as long as its refresh token may. */
  stillValid(name: string): boolean {
    const grant = this.#grant(name);
    return grant !== undefined && this.problemOf(grant, 'refresh') === undefined;
  }

  /** When grant `name` ends (ms since the epoch). */
  expiresAt(name: string): number | undefined {
    const grant = this.#grant(name);
    return grant && Date.parse(grant.refreshExpiresAt);
  }

  /** `mcpd token ls`: each grant, named `oauth:ID`, with its client's name. */
  list(): TokenInfo[] {
    return this.#store.grants.map((g) => ({
      name: `oauth:${g.id}`, source: 'oauth', client: g.clientName, scopes: g.scopes, roles: g.roles, createdAt: g.createdAt,
      expiresAt: g.refreshExpiresAt, lastUsedAt: g.lastUsedAt, revokedAt: g.revokedAt,
    }));
  }

  /** `mcpd token revoke oauth:ID`: revokes the grant's every token; undefined when there is no such live grant. */
  async revokeGrant(name: string): Promise<TokenInfo | undefined> {
    const grant = this.#grant(name);
    if (!grant || !(await this.#store.revoke(grant.id, this.#clock.now(), 'revoked by mcpd token revoke'))) return undefined;
    return this.list().find((i) => i.name === name);
  }

  #grant(name: string): Grant | undefined {
    return name.startsWith('oauth:') ? this.#store.grants.find((g) => g.id === name.slice('oauth:'.length)) : undefined;
  }

  /** Why a grant's token no longer holds, or undefined when it does. */
  problemOf(grant: Grant, which: 'access' | 'refresh'): string | undefined {
    if (grant.revokedAt) return `was revoked at ${grant.revokedAt}`;
    const expires = which === 'access' ? grant.accessExpiresAt : grant.refreshExpiresAt;
    if (Date.parse(expires) <= this.#clock.now()) return `expired at ${expires}`;
    return undefined;
  }

  #code(clientId: string, code: string, consume: boolean): Code {
    const key = sha256Hex(code);
    const entry = this.#codes.get(key);
    if (consume) this.#codes.delete(key);
    if (!entry || entry.ask.clientId !== clientId) throw new IssuerRefusal('invalid_grant', 'unknown or used authorization code');
    if (entry.expiresAt <= this.#clock.now()) throw new IssuerRefusal('invalid_grant', 'the authorization code expired');
    return entry;
  }

  #sweep(): void {
    const now = this.#clock.now();
    for (const [id, consent] of this.#consents) if (now - consent.createdAt > CONSENT_TTL_MS) this.#consents.delete(id);
    for (const [key, code] of this.#codes) if (code.expiresAt <= now) this.#codes.delete(key);
  }
}

/** Whether the `resource` a client sent (its own spelling) names the endpoint `bound` (canonical). */
function sameEndpoint(resource: string, bound: string): boolean {
  return URL.canParse(resource) && canonicalResource(new URL(resource), new URL(bound).origin) === bound;
}
