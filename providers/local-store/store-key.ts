/**
 * Where the local store's 256-bit key comes from. The source is chosen when the store is
 * created and recorded in its header, so a store always reopens the way it was made:
 *
 *   keychain    a random key kept in the OS keychain (service `mcpd`, one account per store)
 *   passphrase  $MCPD_STORE_PASSPHRASE through scrypt, salt and cost in the header
 *   file        a random key in a 0600 file beside the store
 */
import { randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { access, open, readFile } from 'node:fs/promises';
import { McpdError } from '../../core/errors.js';
import type { Env } from '../../core/paths.js';
import { keychainAnswers, keychainEntry } from '../keychain.js';

export type KeySource = 'keychain' | 'passphrase' | 'file';

export interface KeyHeader {
  readonly source: KeySource;
  readonly kdf?: { readonly name: 'scrypt'; readonly salt: string; readonly N: number; readonly r: number; readonly p: number };
}

/** What new stores use: N = 2^17 (128 MiB, under a second), as OWASP advises for scrypt. */
const SCRYPT = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_BYTES = 32;

/**
 * Why a header's scrypt parameters are refused, or undefined when they are ones mcpd writes.
 * The header is read from disk: N=2 would throw a raw RangeError and a huge N would allocate
 * without bound, so only a known set is run. Stores made before 2^17 used 2^15, still accepted.
 */
export function scryptProblem(kdf: { readonly N: number; readonly r: number; readonly p: number }): { field: 'N' | 'r' | 'p'; why: string } | undefined {
  const { N, r, p } = kdf;
  if (!(Number.isInteger(N) && N >= 2 ** 14 && N <= 2 ** 20 && (N & (N - 1)) === 0)) return { field: 'N', why: `is ${N}; mcpd accepts a power of two from 2^14 to 2^20` };
  if (r !== 8) return { field: 'r', why: `is ${r}; mcpd accepts 8` };
  if (p !== 1) return { field: 'p', why: `is ${p}; mcpd accepts 1` };
  return undefined;
}

function scrypt(passphrase: string, salt: Buffer, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCallback(passphrase, salt, KEY_BYTES, options, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** The key file for a store: `store.json` → `store.key`. */
export function keyFilePath(storePath: string): string {
  return storePath.replace(/\.json$/, '') + '.key';
}

/** Each store keeps its key under its own account, so two stores never share a key. */
function keyEntry(storePath: string) {
  return keychainEntry('mcpd', `local-store-key:${storePath}`);
}

/** Creates a key for a new store from `preference` ('auto': keychain, else passphrase, else file). */
export async function createKey(storePath: string, preference: 'auto' | KeySource, env: Env): Promise<{ header: KeyHeader; key: Buffer }> {
  const source = preference !== 'auto' ? preference
    : (await keychainAnswers()) ? 'keychain'
      : env.MCPD_STORE_PASSPHRASE ? 'passphrase' : 'file';
  await refuseLeftoverKey(storePath, source);
  if (source === 'passphrase') {
    const salt = randomBytes(16);
    const header: KeyHeader = { source, kdf: { name: 'scrypt', salt: salt.toString('base64'), ...SCRYPT } };
    return { header, key: await openKey(storePath, header, env) };
  }
  const key = randomBytes(KEY_BYTES);
  if (source === 'keychain') await (await keyEntry(storePath)).setPassword(key.toString('base64'));
  else await writeKeyFile(keyFilePath(storePath), key);
  return { header: { source }, key };
}

/**
 * A key with no store beside it is most likely a store that was lost or moved aside: replacing
 * that key would make every backup of the store unreadable, so the user decides, not mcpd.
 */
async function refuseLeftoverKey(storePath: string, source: KeySource): Promise<void> {
  const restore = `restore ${storePath} from a backup`;
  if (source === 'file') {
    const path = keyFilePath(storePath);
    const exists = await access(path).then(() => true, () => false);
    if (exists) throw leftover(storePath, `its key file ${path} is still there`, `${restore}; or, if that store is gone for good, delete ${path} and try again`);
  } else if (source === 'keychain') {
    const account = `local-store-key:${storePath}`;
    const held = await (await keyEntry(storePath)).getPassword(AbortSignal.timeout(5000)).catch(() => null);
    if (held) {
      throw leftover(storePath, `the OS keychain still holds its key (service "mcpd", account "${account}")`, `${restore}; or, if that store is gone for good, delete the old key with: mcpd secret rm keychain:mcpd/${account}`);
    }
  }
}

function leftover(storePath: string, what: string, hint: string): McpdError {
  return new McpdError('STORE_MISSING', `the local store ${storePath} is missing, but ${what}; mcpd will not make a new store over that key, as a backup of the old store would then never open again`, { hint });
}

async function writeKeyFile(path: string, key: Buffer): Promise<void> {
  // 'wx': never overwrite a key file an existing store may still need.
  const handle = await open(path, 'wx', 0o600);
  try {
    await handle.writeFile(`${key.toString('base64')}\n`);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Recovers the key of an existing store from the source its header names. */
export async function openKey(storePath: string, header: KeyHeader, env: Env): Promise<Buffer> {
  switch (header.source) {
    case 'passphrase': {
      const passphrase = env.MCPD_STORE_PASSPHRASE;
      if (!passphrase) throw missing(storePath, 'its key comes from $MCPD_STORE_PASSPHRASE, which is not set', 'set MCPD_STORE_PASSPHRASE to the passphrase the store was created with');
      const { salt, N, r, p } = header.kdf!;
      return scrypt(passphrase, Buffer.from(salt, 'base64'), { N, r, p, maxmem: 256 * N * r });
    }
    case 'file': {
      const path = keyFilePath(storePath);
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) throw missing(storePath, `its key file ${path} is missing or unreadable`, `restore ${path} from a backup; without it the store cannot be opened`);
      return Buffer.from(text.trim(), 'base64');
    }
    case 'keychain': {
      const stored = await (await keyEntry(storePath)).getPassword(AbortSignal.timeout(5000)).catch(() => undefined);
      if (!stored) throw missing(storePath, 'its key is kept in the OS keychain, which does not answer or no longer holds it', 'unlock the keychain (gnome-keyring, KWallet, macOS Keychain) in this session');
      return Buffer.from(stored, 'base64');
    }
  }
}

function missing(storePath: string, why: string, hint: string): McpdError {
  return new McpdError('STORE_KEY_MISSING', `cannot open the local store ${storePath}: ${why}`, { hint });
}

/** The message for a key that does not open the store, by where the key came from. */
export function wrongKey(storePath: string, source: KeySource): McpdError {
  const what = { passphrase: 'the passphrase in $MCPD_STORE_PASSPHRASE', file: `the key in ${keyFilePath(storePath)}`, keychain: 'the key kept in the OS keychain' }[source];
  return new McpdError('STORE_KEY_WRONG', `${what} does not open the local store ${storePath}; the store was left untouched`, {
    hint: source === 'passphrase' ? 'set MCPD_STORE_PASSPHRASE to the passphrase the store was created with' : 'restore the key the store was created with',
  });
}
