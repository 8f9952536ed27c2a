/**
 * What mcpd keeps of a url server's sign-in: its client registration, its tokens (with when they
 * were obtained, to know when they expire), the discovery it did, or a token the user typed in.
 * One record per server URL, as one JSON value in the default store (`secret:`: the OS
 * keychain, else the local encrypted store): never a plaintext file. The SDK stamps the client
 * and tokens with the issuer they came from and ignores them for any other, so the record is
 * keyed by URL and, within it, by issuer.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import type { OAuthDiscoveryState } from '@modelcontextprotocol/sdk/client/auth.js';
import type { OAuthClientInformationMixed, OAuthTokens } from '@modelcontextprotocol/sdk/shared/auth.js';
import { McpdError } from '../../../core/errors.js';
import type { Provider, Ref } from '../../../providers/provider.js';

export interface AuthRecord {
  /** Client information from a registration or a Client ID Metadata Document (never a configured client). */
  client?: OAuthClientInformationMixed & { issuer?: string };
  tokens?: OAuthTokens & { issuer?: string };
  /** When `tokens` were obtained (ms since the epoch): with `expires_in`, when they expire. */
  obtainedAt?: number;
  /** When a refresh last succeeded (ms since the epoch), for `mcpd auth status`. */
  lastRefresh?: number;
  discovery?: OAuthDiscoveryState;
  /** A token the user gave (`mcpd auth login` for a server without OAuth), sent as a bearer token. */
  bearer?: string;
}

// Loose on purpose: the SDK's own types are the contract; this only guards against a damaged entry.
const recordSchema = z.object({
  client: z.object({ client_id: z.string() }).passthrough().optional(),
  tokens: z.object({ access_token: z.string(), token_type: z.string() }).passthrough().optional(),
  obtainedAt: z.number().optional(),
  lastRefresh: z.number().optional(),
  discovery: z.object({ authorizationServerUrl: z.string() }).passthrough().optional(),
  bearer: z.string().optional(),
});

/** The store path of `url`'s record: readable by host, unique by a hash of the whole URL. */
export function recordPath(url: string): string {
  const host = new URL(url).host.replace(/[^A-Za-z0-9.-]/g, '_');
  return `mcpd-oauth/${host}-${createHash('sha256').update(url).digest('hex').slice(0, 12)}`;
}

/** Reads and writes the record of one server URL; `store` is the default store, asked at each use (a reload replaces it). */
export class AuthRecords {
  readonly #ref: Ref;
  readonly #store: () => Promise<Provider>;

  constructor(url: string, store: () => Promise<Provider>) {
    const path = recordPath(url);
    this.#ref = { raw: `secret:${path}`, provider: 'secret', path };
    this.#store = store;
  }

  /** Where the record lives, for messages (a reference, never a value). */
  get where(): string {
    return `\${${this.#ref.raw}}`;
  }

  /** The stored record, or an empty one. A damaged entry is reported, not guessed at. */
  async load(): Promise<AuthRecord> {
    const [outcome] = await (await this.#store()).resolve([this.#ref]);
    if (outcome instanceof McpdError) {
      if (outcome.code === 'SECRET_NOT_FOUND') return {};
      throw outcome;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(outcome!.value);
    } catch {
      parsed = undefined;
    }
    const checked = recordSchema.safeParse(parsed);
    if (!checked.success) {
      throw new McpdError('OAUTH_FAILED', `the sign-in record ${this.where} is not what mcpd wrote (damaged, or written by hand)`, {
        hint: `delete it with: mcpd secret rm ${this.#ref.raw}, then sign in again`,
      });
    }
    return checked.data as AuthRecord;
  }

  async save(record: AuthRecord): Promise<void> {
    await (await this.#store()).store!(this.#ref, JSON.stringify(record));
  }

  /** Forgets the record; true when there was one. */
  async forget(): Promise<boolean> {
    try {
      await (await this.#store()).remove!(this.#ref);
      return true;
    } catch (error) {
      if (error instanceof McpdError && error.code === 'SECRET_NOT_FOUND') return false;
      throw error;
    }
  }
}
