/**
 * What mcpd as an authorization server issued (README "mcpd as an authorization server"):
 * registered clients and grants, in `oauth.json` in the state dir, 0600, written atomically
 * like tokens.json. A grant is one consent's family of tokens: one live access token and one
 * live refresh token, each kept as its SHA-256 only. A refresh rotates both; a refresh token
 * presented a second time is theft or a bug, and revokes the whole family (OAuth 2.1 §4.3.1).
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { findHash, sha256Hex } from '../token.js';
import { readStateFile, writeStateFile } from '../state-file.js';

const clientSchema = z.object({
  client_id: z.string(),
  client_name: z.string().optional(),
  redirect_uris: z.array(z.string()),
  client_id_issued_at: z.number().optional(),
}).passthrough();

const grantSchema = z.strictObject({
  id: z.string(),
  clientId: z.string(),
  clientName: z.string(),
  scopes: z.array(z.string()),
  /** The endpoint (RFC 8707) its access tokens open, e.g. http://127.0.0.1:8080/mcp/github. */
  resource: z.string(),
  roles: z.array(z.string()),
  createdAt: z.string(),
  accessSha256: z.string(),
  accessExpiresAt: z.string(),
  refreshSha256: z.string(),
  refreshExpiresAt: z.string(),
  /** Refresh tokens already exchanged: one presented again kills the family. */
  usedRefresh: z.array(z.string()),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
  revokedWhy: z.string().optional(),
});
const fileSchema = z.strictObject({ format: z.literal('mcpd-oauth'), version: z.literal(1), clients: z.array(clientSchema), grants: z.array(grantSchema) });

export type OAuthClient = z.infer<typeof clientSchema>;

/** How long a revoked or expired grant stays listed (mcpd token ls) before a new grant drops it. */
const FORGET_AFTER_MS = 7 * 24 * 3600_000;
/**
 * Registration is open to anyone who reaches the listener, so registrations that led to no
 * grant are forgotten after a day, and at most the newest MAX_IDLE_CLIENTS of them are kept: the
 * file cannot grow without bound. A client forgotten this way is refused as unknown
 * (`invalid_client`) and registers again, as MCP clients do.
 */
const IDLE_CLIENT_MS = 24 * 3600_000;
const MAX_IDLE_CLIENTS = 1000;
export type Grant = z.infer<typeof grantSchema>;

/** A new access and refresh token, as the token endpoint returns them (the only place they exist in plaintext). */
export interface IssuedTokens {
  readonly grant: Grant;
  readonly accessToken: string;
  readonly refreshToken: string;
}

/** What a grant is made of at consent. */
export type GrantTerms = Pick<Grant, 'clientId' | 'clientName' | 'scopes' | 'resource' | 'roles'>;

/** An opaque token with a prefix that says what it is (a leaked one is recognisable in a scan). */
export function newSecret(prefix: string): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export class GrantStore {
  readonly #file: string;
  #clients: OAuthClient[];
  #grants: Grant[];
  #saving: Promise<void> = Promise.resolve();

  private constructor(file: string, clients: OAuthClient[], grants: Grant[]) {
    this.#file = file;
    this.#clients = clients;
    this.#grants = grants;
  }

  /** Reads the store; a missing file is an empty store, a damaged one an error naming it. */
  static async open(file: string): Promise<GrantStore> {
    const read = await readStateFile(file, fileSchema, 'the OAuth grant store', 'move it aside: every client registers and asks for consent again');
    return new GrantStore(file, read?.clients ?? [], read?.grants ?? []);
  }

  get grants(): readonly Grant[] {
    return this.#grants;
  }

  client(id: string): OAuthClient | undefined {
    return this.#clients.find((c) => c.client_id === id);
  }

  /** Registers `client` at `now` (ms), forgetting idle registrations (see IDLE_CLIENT_MS). */
  async addClient(client: OAuthClient, now: number): Promise<void> {
    this.#clients.push(client);
    this.#forgetIdleClients(now);
    await this.#save();
  }

  /** A new family for a consent, with its first pair of tokens. */
  async issue(terms: GrantTerms, now: number, ttl: { access: number; refresh: number }): Promise<IssuedTokens> {
    const accessToken = newSecret('mcpdat_');
    const refreshToken = newSecret('mcpdrt_');
    const grant: Grant = {
      ...terms,
      id: randomBytes(6).toString('hex'),
      createdAt: new Date(now).toISOString(),
      accessSha256: sha256Hex(accessToken),
      accessExpiresAt: new Date(now + ttl.access).toISOString(),
      refreshSha256: sha256Hex(refreshToken),
      refreshExpiresAt: new Date(now + ttl.refresh).toISOString(),
      usedRefresh: [],
    };
    // A grant dead for a week is forgotten, so the file does not grow with every consent ever given.
    this.#grants = this.#grants.filter((g) => now - Date.parse(g.revokedAt ?? g.refreshExpiresAt) < FORGET_AFTER_MS);
    this.#grants.push(grant);
    await this.#save();
    return { grant, accessToken, refreshToken };
  }

  /** The grant whose live access token is `token`, if any (revoked and expired ones included: the caller says why). */
  byAccess(token: string): Grant | undefined {
    return this.#grants[findHash(sha256Hex(token), this.#grants.map((g) => g.accessSha256))];
  }

  /** The grant a refresh token belongs to, and whether that token was already used. */
  byRefresh(token: string): { grant: Grant; used: boolean } | undefined {
    const hash = sha256Hex(token);
    const live = this.#grants[findHash(hash, this.#grants.map((g) => g.refreshSha256))];
    if (live) return { grant: live, used: false };
    const used = this.#grants.find((g) => g.usedRefresh.includes(hash));
    return used && { grant: used, used: true };
  }

  /** New tokens for a grant; the old refresh token is kept (hashed) as used, the old access token dies. */
  async rotate(grant: Grant, now: number, ttl: { access: number }): Promise<IssuedTokens> {
    const accessToken = newSecret('mcpdat_');
    const refreshToken = newSecret('mcpdrt_');
    grant.usedRefresh.push(grant.refreshSha256);
    grant.accessSha256 = sha256Hex(accessToken);
    grant.accessExpiresAt = new Date(now + ttl.access).toISOString();
    grant.refreshSha256 = sha256Hex(refreshToken);
    await this.#save();
    return { grant, accessToken, refreshToken };
  }

  /** Revokes a family; false when it was revoked already or is unknown. */
  async revoke(id: string, at: number, why: string): Promise<boolean> {
    const grant = this.#grants.find((g) => g.id === id);
    if (!grant || grant.revokedAt) return false;
    grant.revokedAt = new Date(at).toISOString();
    grant.revokedWhy = why;
    await this.#save();
    return true;
  }

  /** Notes a use; written in the background (a write per request would flood the disk). */
  touch(grant: Grant, at: number): void {
    grant.lastUsedAt = new Date(at).toISOString();
    void this.#save().catch(() => {});
  }

  flush(): Promise<void> {
    return this.#saving;
  }

  #forgetIdleClients(now: number): void {
    const granted = new Set(this.#grants.map((g) => g.clientId));
    // In the order they registered: the newest last. One without a registration time is never too old.
    const idle = this.#clients.filter((c) => !granted.has(c.client_id));
    const forget = new Set(idle.filter((c) => c.client_id_issued_at !== undefined && c.client_id_issued_at * 1000 < now - IDLE_CLIENT_MS));
    const kept = idle.filter((c) => !forget.has(c));
    for (const c of kept.slice(0, Math.max(0, kept.length - MAX_IDLE_CLIENTS))) forget.add(c);
    if (forget.size > 0) this.#clients = this.#clients.filter((c) => !forget.has(c));
  }

  #save(): Promise<void> {
    this.#saving = this.#saving.catch(() => {}).then(async () => {
      await writeStateFile(this.#file, { format: 'mcpd-oauth', version: 1, clients: this.#clients, grants: this.#grants });
    });
    return this.#saving;
  }
}
