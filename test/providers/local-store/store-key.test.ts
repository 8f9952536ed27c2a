/**
 * The local store's key: which scrypt parameters a store file may ask for, and a new store
 * never made over the key of one that went missing. The keychain side of the latter is in
 * test/providers/keychain.test.ts (it needs a Secret Service).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes, scryptSync } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import type { Provider, Ref } from '../../../providers/provider.js';
import { ProviderRegistry } from '../../../providers/registry.js';
import { entryAad, newStore, seal, writeStore } from '../../../providers/local-store/store-file.js';
import { sandbox } from '../../helpers/sandbox.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-store-key-'));
after(() => rm(dir, { recursive: true, force: true }));

const PASSPHRASE = { MCPD_STORE_PASSPHRASE: 'store-key test passphrase' };
const ref = (path: string): Ref => ({ raw: `local:${path}`, provider: 'local', path });
const storePath = (name: string) => join(dir, name, 'store.json');
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

async function open(name: string, key: 'passphrase' | 'file', env: Record<string, string> = {}): Promise<Provider> {
  return new ProviderRegistry({ local: { type: 'local', key, path: storePath(name) } }, { env }).get('local');
}

async function rejection(promise: Promise<unknown>, code: string): Promise<McpdError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof McpdError, `expected ${code}, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    return error;
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

/** A passphrase store written as an older mcpd (or an attacker) would: the header's kdf as given. */
async function storeWithKdf(name: string, kdf: { N: number; r: number; p: number }, derive = kdf): Promise<string> {
  const salt = randomBytes(16);
  const key = scryptSync(PASSPHRASE.MCPD_STORE_PASSPHRASE, salt, 32, { ...derive, maxmem: 256 * derive.N * derive.r });
  const store = newStore({ source: 'passphrase', kdf: { name: 'scrypt', salt: salt.toString('base64'), ...kdf } }, key);
  store.entries.a = [{ version: 1, created: new Date().toISOString(), ...seal(key, 'value-of-a', entryAad('a', 1)) }];
  await mkdir(join(dir, name), { recursive: true, mode: 0o700 });
  await writeStore(storePath(name), store);
  return storePath(name);
}

describe('local store scrypt parameters', () => {
  it('a new passphrase store uses N = 2^17, r = 8, p = 1, and opens again', async () => {
    await (await open('new-kdf', 'passphrase', PASSPHRASE)).store!(ref('a'), 'value-of-a');
    const header = (JSON.parse(await readFile(storePath('new-kdf'), 'utf8')) as { key: { kdf: { N: number; r: number; p: number } } }).key;
    assert.deepEqual({ N: header.kdf.N, r: header.kdf.r, p: header.kdf.p }, { N: 2 ** 17, r: 8, p: 1 });
    assert.deepEqual(await (await open('new-kdf', 'passphrase', PASSPHRASE)).resolve([ref('a')]), [{ value: 'value-of-a', version: '1' }]);
  });

  it('a store made with the former N = 2^15 still opens', async () => {
    await storeWithKdf('old-kdf', { N: 2 ** 15, r: 8, p: 1 });
    assert.deepEqual(await (await open('old-kdf', 'passphrase', PASSPHRASE)).resolve([ref('a')]), [{ value: 'value-of-a', version: '1' }]);
  });

  const refused: Array<[string, { N: number; r: number; p: number }, string]> = [
    ['N = 2 (a raw RangeError before)', { N: 2, r: 8, p: 1 }, 'key.kdf.N is 2; mcpd accepts a power of two from 2^14 to 2^20'],
    ['N = 2^40 (would allocate without bound)', { N: 2 ** 40, r: 8, p: 1 }, `key.kdf.N is ${2 ** 40}; mcpd accepts a power of two from 2^14 to 2^20`],
    ['N = 2^21', { N: 2 ** 21, r: 8, p: 1 }, `key.kdf.N is ${2 ** 21}; mcpd accepts a power of two from 2^14 to 2^20`],
    ['N not a power of two', { N: 2 ** 15 + 1, r: 8, p: 1 }, `key.kdf.N is ${2 ** 15 + 1}; mcpd accepts a power of two from 2^14 to 2^20`],
    ['N = 2^13 (too weak)', { N: 2 ** 13, r: 8, p: 1 }, `key.kdf.N is ${2 ** 13}; mcpd accepts a power of two from 2^14 to 2^20`],
    ['r = 0', { N: 2 ** 15, r: 0, p: 1 }, 'key.kdf.r is 0; mcpd accepts 8'],
    ['r = 1024', { N: 2 ** 15, r: 1024, p: 1 }, 'key.kdf.r is 1024; mcpd accepts 8'],
    ['p = 16', { N: 2 ** 15, r: 8, p: 16 }, 'key.kdf.p is 16; mcpd accepts 1'],
  ];
  for (const [label, kdf, why] of refused) {
    it(`refuses ${label}: STORE_CORRUPT naming the file and the field, the file untouched`, async () => {
      const name = `bad-${label.replace(/\W+/g, '-')}`;
      // The key is derived with usable parameters: only the header claims `kdf`.
      const path = await storeWithKdf(name, kdf, { N: 2 ** 14, r: 8, p: 1 });
      const before = await sha256(path);
      const provider = await open(name, 'passphrase', PASSPHRASE);
      const error = await rejection(provider.resolve([ref('a')]), 'STORE_CORRUPT');
      assert.equal(error.message, `the local store ${path} is damaged (${why}); it was left untouched`);
      await rejection(provider.store!(ref('b'), 'not-written'), 'STORE_CORRUPT');
      assert.equal(await sha256(path), before);
    });
  }

  it('a passphrase store without its kdf: STORE_CORRUPT naming key.kdf', async () => {
    const path = await storeWithKdf('no-kdf', { N: 2 ** 15, r: 8, p: 1 });
    const file = JSON.parse(await readFile(path, 'utf8')) as { key: { kdf?: unknown } };
    delete file.key.kdf;
    await writeFile(path, JSON.stringify(file));
    const error = await rejection((await open('no-kdf', 'passphrase', PASSPHRASE)).resolve([ref('a')]), 'STORE_CORRUPT');
    assert.equal(error.message, `the local store ${path} is damaged (key.kdf must be present exactly when the key comes from a passphrase); it was left untouched`);
  });
});

describe('a store whose file went missing while its key file stayed', () => {
  it('is not made again over that key: STORE_MISSING naming both files, the key file untouched', async () => {
    await (await open('lost-store', 'file')).store!(ref('a'), 'value-of-a');
    const keyFile = join(dir, 'lost-store', 'store.key');
    const key = await sha256(keyFile);
    await rm(storePath('lost-store'));
    const error = await rejection((await open('lost-store', 'file')).store!(ref('b'), 'value-of-b'), 'STORE_MISSING');
    assert.equal(error.message, `the local store ${storePath('lost-store')} is missing, but its key file ${keyFile} is still there; mcpd will not make a new store over that key, as a backup of the old store would then never open again`);
    assert.equal(error.hint, `restore ${storePath('lost-store')} from a backup; or, if that store is gone for good, delete ${keyFile} and try again`);
    assert.equal(await sha256(keyFile), key);
    await assert.rejects(readFile(storePath('lost-store')), { code: 'ENOENT' });
  });

  it('mcpd secret set says so and exits 3; once the key file is deleted it makes a new store', async () => {
    const s = await sandbox();
    try {
      const path = join(s.dir, 'store.json');
      await s.writeConfig({ providers: { local: { type: 'local', key: 'file', path } } });
      assert.equal((await s.cli(['secret', 'set', 'local:a'], { input: 'value-a' })).exitCode, 0);
      await rm(path);
      const refused = await s.cli(['secret', 'set', 'local:b'], { input: 'value-b' });
      assert.equal(refused.exitCode, 3, refused.stderr);
      assert.match(refused.stderr, /mcpd: the local store .*store\.json is missing, but its key file .*store\.key is still there/);
      assert.match(refused.stderr, /hint: restore .*store\.json from a backup; or, if that store is gone for good, delete .*store\.key and try again/);
      await rm(join(s.dir, 'store.key'));
      const again = await s.cli(['secret', 'set', 'local:b'], { input: 'value-b' });
      assert.equal(again.exitCode, 0, again.stderr);
    } finally {
      await s.cleanup();
    }
  });
});
