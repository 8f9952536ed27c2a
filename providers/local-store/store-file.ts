/**
 * The local store's file: JSON holding a key header, a key check, and per path a list of
 * versions, each AES-256-GCM encrypted with its own IV and with its path and version as
 * additional data, so a ciphertext cannot be moved to another entry. Written atomically
 * (write-file-atomic: temp file, fsync, rename; then the folder is fsynced) under a lock
 * (proper-lockfile), so two writers never lose each other's entries. A damaged file is
 * reported and never rewritten.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { McpdError } from '../../core/errors.js';
import { type KeyHeader, scryptProblem } from './store-key.js';

const sealedSchema = z.object({ iv: z.string(), tag: z.string(), data: z.string() }).strict();
const versionSchema = sealedSchema.extend({ version: z.number().int().positive(), created: z.string() }).strict();
const storeSchema = z.object({
  format: z.literal('mcpd-store'),
  version: z.literal(1),
  key: z.object({
    source: z.enum(['keychain', 'passphrase', 'file']),
    kdf: z.object({ name: z.literal('scrypt'), salt: z.string(), N: z.number(), r: z.number(), p: z.number() }).strict().superRefine((kdf, ctx) => {
      const problem = scryptProblem(kdf);
      if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [problem.field], message: problem.why });
    }).optional(),
  }).strict().refine((key) => (key.source === 'passphrase') === (key.kdf !== undefined), { path: ['kdf'], message: 'must be present exactly when the key comes from a passphrase' }),
  check: sealedSchema,
  entries: z.record(z.string(), z.array(versionSchema).min(1)),
}).strict();

export type Sealed = z.infer<typeof sealedSchema>;
export type StoredVersion = z.infer<typeof versionSchema>;
export type StoreData = z.infer<typeof storeSchema> & { key: KeyHeader };

const CHECK_TEXT = 'mcpd local store key check';
const CHECK_AAD = 'check';

export function seal(key: Buffer, plaintext: string, aad: string): Sealed {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return { iv: iv.toString('base64'), tag: cipher.getAuthTag().toString('base64'), data: data.toString('base64') };
}

/** Decrypts, or returns undefined when authentication fails (wrong key or tampered data). */
export function unseal(key: Buffer, sealed: Sealed, aad: string): string | undefined {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64'));
    decipher.setAAD(Buffer.from(aad, 'utf8'));
    decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    return undefined;
  }
}

export const entryAad = (path: string, version: number) => `entry:${version}:${path}`;

export function newStore(header: KeyHeader, key: Buffer): StoreData {
  return { format: 'mcpd-store', version: 1, key: header, check: seal(key, CHECK_TEXT, CHECK_AAD), entries: {} };
}

/** True when `key` is the one the store was created with. */
export function keyOpens(store: StoreData, key: Buffer): boolean {
  return unseal(key, store.check, CHECK_AAD) === CHECK_TEXT;
}

/** Reads the store; undefined when there is none yet. */
export async function readStore(path: string): Promise<StoreData | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new McpdError('STORE_CORRUPT', `cannot read the local store ${path}: ${(error as NodeJS.ErrnoException).code}`, {
      hint: `make ${path} readable by you (it should be mode 0600)`,
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw corrupt(path, 'it is not valid JSON');
  }
  const parsed = storeSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const field = issue.path.join('.') || 'its top level';
    throw corrupt(path, issue.code === z.ZodIssueCode.custom ? `${field} ${issue.message}` : `${field} is not as mcpd writes it`);
  }
  return parsed.data;
}

export function corrupt(path: string, why: string): McpdError {
  return new McpdError('STORE_CORRUPT', `the local store ${path} is damaged (${why}); it was left untouched`, {
    hint: `restore ${path} from a backup, or move it aside to start an empty store (its secrets are then lost)`,
  });
}

/** Writes the whole store atomically and durably. */
export async function writeStore(path: string, store: StoreData): Promise<void> {
  const { default: writeFileAtomic } = await import('write-file-atomic');
  await writeFileAtomic(path, `${JSON.stringify(store, null, 1)}\n`, { mode: 0o600, fsync: true });
  // The rename is durable only once the folder itself is on disk.
  const folder = await open(dirname(path), 'r');
  try {
    await folder.sync();
  } finally {
    await folder.close();
  }
}

/** Runs `update` holding the store's lock; the folder is created (0700) if needed. */
export async function withStoreLock<T>(path: string, update: () => Promise<T>): Promise<T> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const { default: lockfile } = await import('proper-lockfile');
  const lockPath = `${path}.lock`;
  let release: () => Promise<void>;
  try {
    release = await lockfile.lock(path, { realpath: false, lockfilePath: lockPath, stale: 10_000, retries: { retries: 60, factor: 1.3, minTimeout: 10, maxTimeout: 250 } });
  } catch (error) {
    throw new McpdError('STORE_LOCKED', `the local store ${path} is locked by another writer (${lockPath})`, {
      hint: `try again; if no other mcpd is running, remove ${lockPath}`,
      cause: error,
    });
  }
  try {
    return await update();
  } finally {
    await release();
  }
}
