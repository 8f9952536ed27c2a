/**
 * A 1Password SDK client DOUBLE (the SDK cannot reach 1Password from here): `createClient` and
 * the part of the client mcpd uses (secrets.resolveAll / resolve, items.get / put), over an
 * in-memory account of vaults → items → sections and fields.
 *
 * It answers in the SDK's own shapes, built from the SDK's exported types and classes so they
 * cannot drift: resolveAll's `individualResponses` keyed by reference, each `{content}` or
 * `{error: {type}}` (vaultNotFound, itemNotFound, noMatchingSections, fieldNotFound, tooMany…,
 * parsing); Items with numeric versions and Dates; every answer passed through the SDK's own
 * JSON replacer and reviver, as the real one crosses its WASM boundary. Failures are the SDK's:
 * RateLimitExceededError, DesktopSessionExpiredError, and plain Errors with its core's text.
 *
 * Switches: `invalidToken` ('onCreate': createClient refuses every token; 'onCall': the client
 * was made but every call is refused, as a revoked token is), `rateLimited`, and
 * `expireSession('once' | 'always')` for desktop-app clients. `calls` counts what was asked.
 */
import { randomBytes } from 'node:crypto';
import {
  DesktopAuth, DesktopSessionExpiredError, type Item, ItemCategory, type ItemField, ItemFieldType, RateLimitExceededError,
  ReplacerFunc, type ResolveAllResponse, type ResolvedReference, type ResolveReferenceError, ReviverFunc, Secrets,
} from '@1password/sdk';
import type { OpClient, OpClientConfig } from '../../providers/onepassword/sdk.js';

/** Text of the SDK core's own errors (from its WASM), so translations are tested on what users would see. */
export const SDK_TEXT = {
  invalidToken: 'invalid service account token, please make sure you provide a valid service account token as parameter:  service account deserialization failed, please create another token',
  unauthorized: 'error when retrieving vault metadata: http error: unexpected http status: 401 Unauthorized',
  rateLimited: 'rate limit exceeded',
  sessionExpired: 'session expired',
  unknownAccount: 'account couldn\'t be found',
  notFound: 'resource not found',
  conflict: 'a conflict occurred on the server. this usually happens due to a race condition in requests',
} as const;

export interface DoubleClient extends OpClient {
  readonly secrets: OpClient['secrets'] & { resolve(reference: string): Promise<string> };
}

interface Vault {
  readonly id: string;
  readonly title: string;
  readonly items: Item[];
}

type Outcome = { content: ResolvedReference } | { error: ResolveReferenceError };

export class OnePasswordDouble {
  readonly calls = { createClient: 0, resolveAll: 0, resolve: 0, itemsGet: 0, itemsPut: 0 };
  /** The argument of each resolveAll call, in order. */
  readonly resolveAllArgs: string[][] = [];
  /** The auth each created client was given: a token, or `desktop:ACCOUNT`. */
  readonly signIns: string[] = [];
  invalidToken: false | 'onCreate' | 'onCall' = false;
  rateLimited = false;
  readonly #tokens: Set<string>;
  readonly #accounts: Set<string>;
  readonly #vaults: Vault[] = [];
  /** Desktop clients created up to this count have an expired session. */
  #expiredUpTo = 0;

  constructor(options: { tokens?: string[]; accounts?: string[] } = {}) {
    this.#tokens = new Set(options.tokens ?? []);
    this.#accounts = new Set(options.accounts ?? []);
  }

  /** Expires every desktop session so far; 'always' also every session created from now on. */
  expireSession(mode: 'once' | 'always'): void {
    this.#expiredUpTo = mode === 'always' ? Infinity : this.calls.createClient;
  }

  /** Adds (or replaces) an item; `sections` maps a section title to its fields. */
  addItem(vault: string, title: string, fields: Record<string, string>, sections: Record<string, Record<string, string>> = {}): Item {
    let home = this.#vaults.find((v) => v.title === vault);
    if (!home) this.#vaults.push((home = { id: newId(), title: vault, items: [] }));
    const now = new Date();
    const item: Item = {
      id: newId(), title, category: ItemCategory.ApiCredentials, vaultId: home.id, notes: '', tags: [], websites: [], files: [],
      version: 1, createdAt: now, updatedAt: now, sections: [], fields: Object.entries(fields).map(([label, value]) => field(label, value)),
    };
    for (const [sectionTitle, sectionFields] of Object.entries(sections)) {
      const section = { id: newId(), title: sectionTitle };
      item.sections.push(section);
      item.fields.push(...Object.entries(sectionFields).map(([label, value]) => field(label, value, section.id)));
    }
    const at = home.items.findIndex((i) => i.title === title);
    if (at === -1) home.items.push(item);
    else home.items[at] = item;
    return wire(item);
  }

  /** An item as stored, or undefined. */
  getItem(vault: string, title: string): Item | undefined {
    const found = this.#vaults.find((v) => v.title === vault)?.items.find((i) => i.title === title);
    return found && wire(found);
  }

  vaultId(title: string): string | undefined {
    return this.#vaults.find((v) => v.title === title)?.id;
  }

  /** Stands in for the SDK's `createClient`. */
  readonly createClient = async (config: OpClientConfig): Promise<DoubleClient> => {
    this.calls.createClient++;
    const generation = this.calls.createClient;
    const desktop = config.auth instanceof DesktopAuth;
    if (config.auth instanceof DesktopAuth) {
      this.signIns.push(`desktop:${config.auth.accountName}`);
      if (!this.#accounts.has(config.auth.accountName)) throw new Error(SDK_TEXT.unknownAccount);
    } else {
      this.signIns.push(config.auth ?? '');
      if (this.invalidToken === 'onCreate' || !this.#tokens.has(config.auth ?? '')) throw new Error(SDK_TEXT.invalidToken);
    }
    // Every call checks, in the SDK's order: the session, the token, then the server's rate limit.
    const gate = () => {
      if (desktop && generation <= this.#expiredUpTo) throw new DesktopSessionExpiredError(SDK_TEXT.sessionExpired);
      if (!desktop && this.invalidToken === 'onCall') throw new Error(SDK_TEXT.unauthorized);
      if (this.rateLimited) throw new RateLimitExceededError(SDK_TEXT.rateLimited);
    };
    return {
      secrets: {
        resolveAll: async (references) => {
          this.calls.resolveAll++;
          this.resolveAllArgs.push([...references]);
          gate();
          const response: ResolveAllResponse = { individualResponses: {} };
          for (const reference of references) response.individualResponses[reference] = this.#resolve(reference);
          return wire(response);
        },
        resolve: async (reference) => {
          this.calls.resolve++;
          gate();
          const outcome = this.#resolve(reference);
          if ('error' in outcome) throw new Error(`error resolving secret reference: ${outcome.error.type}`);
          return outcome.content.secret;
        },
      },
      items: {
        get: async (vaultId, itemId) => {
          this.calls.itemsGet++;
          gate();
          const item = this.#vaults.find((v) => v.id === vaultId)?.items.find((i) => i.id === itemId);
          if (!item) throw new Error(SDK_TEXT.notFound);
          return wire(item);
        },
        put: async (item) => {
          this.calls.itemsPut++;
          gate();
          const items = this.#vaults.find((v) => v.id === item.vaultId)?.items;
          const at = items?.findIndex((i) => i.id === item.id) ?? -1;
          if (!items || at === -1) throw new Error(SDK_TEXT.notFound);
          // 1Password refuses a write based on an older version: two writers cannot both win.
          if (items[at]!.version !== item.version) throw new Error(SDK_TEXT.conflict);
          items[at] = { ...wire(item), version: item.version + 1, updatedAt: new Date() };
          return wire(items[at]);
        },
      },
    };
  };

  /** Matches a reference as 1Password does: each part by ID, else by title ignoring case. */
  #resolve(reference: string): Outcome {
    try {
      Secrets.validateSecretReference(reference);
    } catch (error) {
      return { error: { type: 'parsing', message: reasonOf(error) } };
    }
    const [path = '', query] = reference.slice('op://'.length).split('?');
    if (query !== undefined) return { error: { type: 'other' } };
    const [vaultName = '', itemName = '', ...rest] = path.split('/');
    const [sectionName, fieldName = ''] = rest.length === 2 ? rest : [undefined, rest[0]];
    const vaults = this.#vaults.filter((v) => named(v, vaultName));
    if (vaults.length !== 1) return { error: { type: vaults.length ? 'tooManyVaults' : 'vaultNotFound' } };
    const items = vaults[0]!.items.filter((i) => named(i, itemName));
    if (items.length !== 1) return { error: { type: items.length ? 'tooManyItems' : 'itemNotFound' } };
    const item = items[0]!;
    let fields = item.fields;
    if (sectionName !== undefined) {
      const sections = new Set(item.sections.filter((s) => named(s, sectionName)).map((s) => s.id));
      if (sections.size === 0) return { error: { type: 'noMatchingSections' } };
      fields = fields.filter((f) => f.sectionId !== undefined && sections.has(f.sectionId));
    }
    const matching = fields.filter((f) => named(f, fieldName));
    if (matching.length !== 1) return { error: { type: matching.length ? 'tooManyMatchingFields' : 'fieldNotFound' } };
    return { content: { secret: matching[0]!.value, itemId: item.id, vaultId: item.vaultId } };
  }
}

/** The SDK's validator throws `{"name":…,"message":…}` as text. */
function reasonOf(error: unknown): string {
  try {
    return (JSON.parse(String(error)) as { message: string }).message;
  } catch {
    return String(error);
  }
}

function named(thing: { id: string; title: string }, name: string): boolean {
  return thing.id === name || thing.title.toLowerCase() === name.toLowerCase();
}

function field(label: string, value: string, sectionId?: string): ItemField {
  const concealed = /password|credential|token|secret|key/i.test(label);
  return { id: sectionId ? newId() : label.toLowerCase(), title: label, fieldType: concealed ? ItemFieldType.Concealed : ItemFieldType.Text, value, ...(sectionId ? { sectionId } : {}) };
}

/** 1Password IDs: 26 lowercase letters and digits. */
function newId(): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz234567';
  return [...randomBytes(26)].map((b) => alphabet[b % 32]).join('');
}

/** Through the SDK's own JSON replacer and reviver, as every real answer comes across its WASM boundary. */
function wire<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, ReplacerFunc), ReviverFunc) as T;
}
