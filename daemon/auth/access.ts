/**
 * mcpd's client tokens: a token holds exactly its scopes and roles. Tokens come from the token
 * store (`mcpd token create`) and from the config's `clients` (a SHA-256, scopes and roles).
 * The `bearer` provider (providers/bearer.ts) asks `verify` for each request that presents one.
 * Every refusal is a 401 McpdError; every use goes to the audit log, and refusals go there
 * counted (the socket's RefusalTally), as anyone who can connect can send them.
 */
import ms from 'ms';
import type { Clock } from '../../core/clock.js';
import { McpdError } from '../../core/errors.js';
import type { AuditSink } from '../audit/audit.js';
import type { Actor } from '../audit/events.js';
import { isDuration } from '../../core/duration.js';
import type { Config } from '../config/schema.js';
import { type Principal, scopeProblem } from './scopes.js';
import type { TokenRecord, TokenStore } from './store.js';
import { findHash, invalid, newToken, sha256Hex } from './token.js';
import { own } from '../../core/own.js';
import type { OAuthIssuer } from './oauth/issuer.js';

export interface TokenInfo {
  readonly name: string;
  /** `oauth`: a grant of mcpd's authorization server (oauth/issuer.ts), named `oauth:ID`. */
  readonly source: 'state' | 'config' | 'oauth';
  /** An OAuth grant's client, by its registered name. */
  readonly client?: string;
  readonly scopes: readonly string[];
  readonly roles: readonly string[];
  readonly createdAt: string | undefined;
  readonly expiresAt: string | undefined;
  readonly lastUsedAt: string | undefined;
  readonly revokedAt: string | undefined;
}

/** How long after a token's recorded use of a route its next use goes unrecorded (audit line, last-used time). */
export const USE_NOTED_MS = 60_000;
const MAX_USES_NOTED = 4096;

const TOKEN_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

export class ClientAccess {
  readonly #store: TokenStore;
  readonly #config: () => Config;
  readonly #clock: Clock;
  readonly #audit: AuditSink;
  readonly #oauth: OAuthIssuer | undefined;
  /** Last use of config-defined clients, kept in memory: the config file is the user's, not ours to write. */
  readonly #configUse = new Map<string, string>();
  /** When each token's use of a route was last recorded, by `source:name route`. */
  readonly #usesNoted = new Map<string, number>();

  constructor(store: TokenStore, config: () => Config, clock: Clock, audit: AuditSink, oauth?: OAuthIssuer) {
    this.#store = store;
    this.#oauth = oauth;
    this.#config = config;
    this.#clock = clock;
    this.#audit = audit;
  }

  /** Whether a principal admitted earlier still holds (not revoked, expired, or removed from the config). */
  stillValid(principal: Principal): boolean {
    if (principal.kind === 'owner') return true;
    if (principal.kind === 'jwt') return principal.expiresAt === undefined || principal.expiresAt > this.#clock.now();
    if (principal.kind !== 'token') return true; // forwarded and anonymous: judged by their providers at each request
    if (principal.source === 'oauth') return this.#oauth?.stillValid(principal.name) ?? false;
    const entry = this.#entries().find((e) => e.name === principal.name && e.source === principal.source);
    return entry !== undefined && this.#problem(entry) === undefined;
  }

  /** When a principal's token expires (ms since the epoch), if it does. */
  expiresAt(principal: Principal): number | undefined {
    if (principal.kind === 'jwt') return principal.expiresAt;
    if (principal.kind !== 'token') return undefined;
    if (principal.source === 'oauth') return this.#oauth?.expiresAt(principal.name);
    const at = this.#entries().find((e) => e.name === principal.name && e.source === principal.source)?.expiresAt;
    return at === undefined ? undefined : Date.parse(at);
  }

  /** A new token with `scopes` and `roles` (at least one of either; each role one of the config's); `by` is who asked, for the audit log. */
  async create(name: string, scopes: readonly string[], expires: string | undefined, by: Actor, roles: readonly string[] = []): Promise<{ token: string; info: TokenInfo }> {
    if (!TOKEN_NAME.test(name)) throw new McpdError('USAGE', `"${name}" is not a token name: use letters, digits, _ . - (up to 64)`, { hint: 'name it after the host app, e.g. mcpd token create ide-plugin ...' });
    checkGrants(scopes, roles, Object.keys(this.#config().roles));
    const existing = this.#entries().find((e) => e.name === name);
    if (existing && this.#problem(existing) === undefined) {
      throw new McpdError('TOKEN_EXISTS', `a token named "${name}" exists already${existing.source === 'config' ? ' in the config\'s clients' : ''}`, { hint: `revoke it first (mcpd token revoke ${name}) or choose another name` });
    }
    const now = this.#clock.now();
    const expiresAt = expires === undefined ? undefined : new Date(now + lifetime(expires)).toISOString();
    const token = newToken();
    const record: TokenRecord = { name, sha256: sha256Hex(token), scopes: [...new Set(scopes)], ...(roles.length ? { roles: [...new Set(roles)] } : {}), createdAt: new Date(now).toISOString(), ...(expiresAt ? { expiresAt } : {}) };
    await this.#store.put(record);
    this.#audit.by(by).record({ event: 'token.created', token: name, scopes: record.scopes, ...(record.roles ? { tokenRoles: record.roles } : {}), expiresAt });
    return { token, info: info(record, 'state') };
  }

  /** Revokes a token; `by` is who asked, for the audit log. */
  async revoke(name: string, by: Actor): Promise<TokenInfo> {
    if (name.startsWith('oauth:')) return this.#revokeGrant(name, by);
    const inConfig = own(this.#config().clients, name);
    const record = await this.#store.revoke(name, new Date(this.#clock.now()).toISOString());
    if (!record) {
      if (inConfig) throw new McpdError('TOKEN_UNKNOWN', `token "${name}" is defined in the config's clients, not by mcpd token create`, { hint: `remove clients.${name} from the config; the daemon picks up the edit` });
      throw new McpdError('TOKEN_UNKNOWN', `no active token named "${name}"`, { hint: 'mcpd token ls lists the tokens' });
    }
    this.#audit.by(by).record({ event: 'token.revoked', token: name });
    return info(record, 'state');
  }

  list(): TokenInfo[] {
    const tokens = this.#entries().map((e) => ({ ...info(e, e.source), lastUsedAt: e.source === 'config' ? this.#configUse.get(e.name) : e.lastUsedAt }));
    return [...tokens, ...(this.#oauth?.list() ?? [])];
  }

  async #revokeGrant(name: string, by: Actor): Promise<TokenInfo> {
    const revoked = await this.#oauth?.revokeGrant(name);
    if (!revoked) throw new McpdError('TOKEN_UNKNOWN', `no active OAuth grant named "${name}"`, { hint: 'mcpd token ls lists the tokens and OAuth grants' });
    this.#audit.by(by).record({ event: 'token.revoked', token: name });
    return revoked;
  }

  flush(): Promise<void> {
    return Promise.all([this.#store.flush(), this.#oauth?.store.flush()]).then(() => {});
  }

  /** The principal of a presented token (TOKEN_INVALID when it is unknown, revoked or expired); `route` goes to the audit log. */
  verify(token: string, route: string): Principal {
    const entries = this.#entries();
    const index = findHash(sha256Hex(token), entries.map((e) => e.sha256));
    const entry = entries[index];
    if (!entry) throw invalid('the token presented is not one mcpd issued (unknown token)', 'check $MCPD_TOKEN or the host app\'s setting; mcpd token ls lists the tokens, mcpd token create makes one');
    const problem = this.#problem(entry);
    if (problem) throw invalid(`token "${entry.name}" ${problem}`, `create a new one: mcpd token create ${entry.name} --scope ...`);
    const principal: Principal = { kind: 'token', subject: `token:${entry.name}`, name: entry.name, source: entry.source, scopes: entry.scopes, roles: entry.roles ?? [] };
    if (this.#firstUseInWhile(`${entry.source}:${entry.name} ${route}`)) {
      const at = new Date(this.#clock.now()).toISOString();
      if (entry.source === 'state') this.#store.touch(entry.name, at);
      else this.#configUse.set(entry.name, at);
      this.#audit.by(principal).record({ event: 'token.used', token: entry.name, route });
    }
    return principal;
  }

  /**
   * Whether a token's use of a route is its first in USE_NOTED_MS: an HTTP client presents its
   * token on every request, and a line and a tokens.json write for each would flood the capped
   * audit log and the disk. At most one of each per token and route a minute.
   */
  #firstUseInWhile(key: string): boolean {
    const now = this.#clock.now();
    const last = this.#usesNoted.get(key);
    if (last !== undefined && now - last < USE_NOTED_MS) return false;
    // Routes come from the request: a token holder must not grow this without bound.
    if (this.#usesNoted.size >= MAX_USES_NOTED) this.#usesNoted.clear();
    this.#usesNoted.set(key, now);
    return true;
  }

  #problem(entry: TokenRecord): string | undefined {
    if (entry.revokedAt) return `was revoked at ${entry.revokedAt}`;
    if (entry.expiresAt && Date.parse(entry.expiresAt) <= this.#clock.now()) return `expired at ${entry.expiresAt}`;
    return undefined;
  }

  #entries(): Array<TokenRecord & { source: 'state' | 'config' }> {
    const fromConfig = Object.entries(this.#config().clients).map(([name, c]) => ({ name, sha256: c.tokenSha256.toLowerCase(), scopes: c.scopes, roles: c.roles, createdAt: '', expiresAt: c.expires, source: 'config' as const }));
    return [...fromConfig, ...this.#store.records.map((r) => ({ ...r, source: 'state' as const }))];
  }
}

/** Checks what `mcpd token create` asks for: at least one scope or role, each scope known (SCOPE_UNKNOWN), each role one of the config's. */
function checkGrants(scopes: readonly string[], roles: readonly string[], known: readonly string[]): void {
  if (scopes.length === 0 && roles.length === 0) throw new McpdError('USAGE', 'a token needs at least one scope or role', { hint: 'add --scope or --role, e.g. --scope launch:github --scope status:read, or --role reader' });
  for (const scope of scopes) {
    const problem = scopeProblem(scope);
    if (problem) throw new McpdError('SCOPE_UNKNOWN', problem, { hint: 'use launch:NAME, launch:*, status:read, logs:read, rotate or admin' });
  }
  for (const role of roles) {
    if (!known.includes(role)) {
      throw new McpdError('USAGE', `no role named "${role}" in the daemon's config; known roles: ${known.length ? [...known].sort().join(', ') : '(none)'}`, {
        hint: `define it under "roles" in the config (README "Roles"), or give one of the known roles`,
      });
    }
  }
}

function info(record: TokenRecord, source: 'state' | 'config'): TokenInfo {
  return { name: record.name, source, scopes: record.scopes, roles: record.roles ?? [], createdAt: record.createdAt || undefined, expiresAt: record.expiresAt, lastUsedAt: record.lastUsedAt, revokedAt: record.revokedAt };
}

function lifetime(text: string): number {
  // isDuration, not ms alone: ms throws its own error on "".
  if (!isDuration(text)) throw new McpdError('USAGE', `--expires "${text}" is not a duration`, { hint: 'give a duration such as 12h, 30d or 1y' });
  return ms(text as ms.StringValue);
}
