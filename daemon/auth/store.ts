/**
 * The token store: `tokens.json` in the state dir, 0600, written atomically (write-file-atomic:
 * temp file, fsync, rename). It keeps each token's SHA-256, never the token. The daemon is its
 * only writer: `mcpd token` verbs go through the daemon, so last-used times never race an edit.
 */
import { z } from 'zod';
import { readStateFile, writeStateFile } from './state-file.js';

const recordSchema = z.strictObject({
  name: z.string(),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  scopes: z.array(z.string()),
  /** Names of the config's `roles` (absent in stores written before roles). */
  roles: z.array(z.string()).optional(),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
  lastUsedAt: z.string().optional(),
  revokedAt: z.string().optional(),
});
const fileSchema = z.strictObject({ format: z.literal('mcpd-tokens'), version: z.literal(1), tokens: z.array(recordSchema) });

export type TokenRecord = z.infer<typeof recordSchema>;

export class TokenStore {
  readonly #file: string;
  #records: TokenRecord[];
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;

  private constructor(file: string, records: TokenRecord[]) {
    this.#file = file;
    this.#records = records;
  }

  /** Reads the store; a missing file is an empty store, a damaged one an error naming it. */
  static async open(file: string): Promise<TokenStore> {
    const read = await readStateFile(file, fileSchema, 'the token store', 'move it aside and create the tokens again (mcpd token create); every old token stops working');
    return new TokenStore(file, read?.tokens ?? []);
  }

  get records(): readonly TokenRecord[] {
    return this.#records;
  }

  find(name: string): TokenRecord | undefined {
    return this.#records.find((r) => r.name === name);
  }

  /** Adds (or replaces a revoked or expired) record and writes the file. */
  async put(record: TokenRecord): Promise<void> {
    this.#records = [...this.#records.filter((r) => r.name !== record.name), record];
    await this.#save();
  }

  /** Marks `name` revoked; the record stays so a presenter learns it was revoked, not unknown. */
  async revoke(name: string, at: string): Promise<TokenRecord | undefined> {
    const record = this.find(name);
    if (!record || record.revokedAt) return undefined;
    record.revokedAt = at;
    await this.#save();
    return record;
  }

  /** Notes a use; written in the background, coalesced, so a busy host app costs one write at a time. */
  touch(name: string, at: string): void {
    const record = this.find(name);
    if (!record) return;
    record.lastUsedAt = at;
    void this.#save().catch(() => {});
  }

  /** Waits for pending writes. */
  flush(): Promise<void> {
    return this.#saving;
  }

  #save(): Promise<void> {
    if (this.#dirty) return this.#saving;
    this.#dirty = true;
    this.#saving = this.#saving.catch(() => {}).then(async () => {
      this.#dirty = false;
      await writeStateFile(this.#file, { format: 'mcpd-tokens', version: 1, tokens: this.#records });
    });
    return this.#saving;
  }
}
