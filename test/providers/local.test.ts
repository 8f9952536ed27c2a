import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { McpdError } from '../../core/errors.js';
import type { Provider, Ref, Resolution } from '../../providers/provider.js';
import { ProviderRegistry } from '../../providers/registry.js';
import { sandbox } from '../helpers/sandbox.js';
import { conformance } from './conformance.js';

const dir = await mkdtemp(join(tmpdir(), 'mcpd-local-'));
after(() => rm(dir, { recursive: true, force: true }));

type KeyChoice = 'auto' | 'keychain' | 'passphrase' | 'file';

/** A local store at `<dir>/<name>/store.json`. */
async function open(name: string, key: KeyChoice, env: Record<string, string> = {}): Promise<Provider> {
  const registry = new ProviderRegistry({ local: { type: 'local', key, path: join(dir, name, 'store.json') } }, { env });
  return registry.get('local');
}

const ref = (path: string): Ref => ({ raw: `local:${path}`, provider: 'local', path });
const storePath = (name: string) => join(dir, name, 'store.json');
const sha256 = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

function value(outcome: Resolution | undefined): string {
  if (outcome === undefined || outcome instanceof McpdError) assert.fail(`expected a value, got ${String(outcome)}`);
  return outcome.value;
}

function failure(outcome: unknown, code: string): McpdError {
  assert.ok(outcome instanceof McpdError, `expected ${code}, got ${String(outcome)}`);
  assert.equal(outcome.code, code, outcome.message);
  return outcome;
}

async function rejection(promise: Promise<unknown>, code: string): Promise<McpdError> {
  try {
    await promise;
  } catch (error) {
    return failure(error, code);
  }
  assert.fail(`expected ${code}, but it succeeded`);
}

conformance('local (key file)', async () => ({ provider: await open('conformance-file', 'file'), ref }));
conformance('local (passphrase)', async () => ({ provider: await open('conformance-pp', 'passphrase', { MCPD_STORE_PASSPHRASE: 'correct horse' }), ref }));

describe('local store', () => {
  it('the store and its key file are 0600 in a 0700 folder; neither holds a value in the clear', async () => {
    const secret = `clear-${randomBytes(12).toString('hex')}`;
    await (await open('modes', 'file')).store!(ref('api/key'), secret);
    assert.equal((await stat(join(dir, 'modes'))).mode & 0o777, 0o700);
    assert.equal((await stat(storePath('modes'))).mode & 0o777, 0o600);
    assert.equal((await stat(join(dir, 'modes', 'store.key'))).mode & 0o777, 0o600);
    for (const file of ['store.json', 'store.key']) {
      const bytes = await readFile(join(dir, 'modes', file));
      assert.ok(!bytes.includes(secret), `${file} holds the value`);
      assert.ok(!bytes.includes(Buffer.from(secret).toString('base64')), `${file} holds the value in base64`);
    }
  });

  it('records where its key comes from; without a keychain "auto" takes the passphrase, else a key file', async () => {
    // A child process without a D-Bus session: this process may have a keychain (in CI it does).
    const s = await sandbox();
    try {
      const header = async (name: string) => {
        const path = join(s.dir, `${name}.json`);
        await s.writeConfig({ providers: { local: { type: 'local', key: 'auto', path } } });
        const set = await s.cli(['secret', 'set', 'local:a'], { input: 'value-a', env: name === 'pp' ? { MCPD_STORE_PASSPHRASE: 'pp' } : {} });
        assert.equal(set.exitCode, 0, set.stderr);
        return (JSON.parse(await readFile(path, 'utf8')) as { key: { source: string; kdf?: { name: string } } }).key;
      };
      const pp = await header('pp');
      assert.deepEqual({ source: pp.source, kdf: pp.kdf?.name }, { source: 'passphrase', kdf: 'scrypt' });
      assert.equal((await header('file')).source, 'file');
      // Reopened with another preference, a store keeps the source it was made with.
      const reopened = new ProviderRegistry({ local: { type: 'local', key: 'passphrase', path: join(s.dir, 'file.json') } }, { env: {} });
      assert.equal(value((await (await reopened.get('local')).resolve([ref('a')]))[0]), 'value-a');
    } finally {
      await s.cleanup();
    }
  });

  it('each write is a new version; the last ten are kept', async () => {
    const provider = await open('versions', 'file');
    const versions: string[] = [];
    for (let i = 1; i <= 12; i++) versions.push(await provider.store!(ref('rotated'), `value-${i}`));
    assert.deepEqual(versions, Array.from({ length: 12 }, (_, i) => String(i + 1)));
    const [latest] = await provider.resolve([ref('rotated')]);
    assert.deepEqual(latest, { value: 'value-12', version: '12' });
    const file = JSON.parse(await readFile(storePath('versions'), 'utf8')) as { entries: Record<string, Array<{ version: number }>> };
    assert.deepEqual(file.entries.rotated!.map((v) => v.version), [3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('a name Object.prototype has (constructor, toString) is a secret like any other: missing until stored, then read', async () => {
    const provider = await open('proto', 'file');
    failure((await provider.resolve([ref('constructor')]))[0], 'SECRET_NOT_FOUND');
    for (const name of ['constructor', 'toString']) await provider.store!(ref(name), `value-of-${name}`);
    assert.deepEqual((await provider.resolve([ref('constructor'), ref('toString')])).map(value), ['value-of-constructor', 'value-of-toString']);
    assert.deepEqual((await provider.store!(ref('constructor'), 'again')), '2', 'its versions are its own, not Function.prototype\'s');
  });

  it('a wrong passphrase: STORE_KEY_WRONG on read and on write, the file untouched', async () => {
    await (await open('wrong-pp', 'passphrase', { MCPD_STORE_PASSPHRASE: 'right one' })).store!(ref('a'), 'kept-value');
    const before = await sha256(storePath('wrong-pp'));
    const wrong = await open('wrong-pp', 'passphrase', { MCPD_STORE_PASSPHRASE: 'wrong one' });
    const read = await rejection(wrong.resolve([ref('a')]), 'STORE_KEY_WRONG');
    assert.equal(read.message, `the passphrase in $MCPD_STORE_PASSPHRASE does not open the local store ${storePath('wrong-pp')}; the store was left untouched`);
    assert.match(read.hint ?? '', /MCPD_STORE_PASSPHRASE/);
    await rejection(wrong.store!(ref('b'), 'would-be-lost'), 'STORE_KEY_WRONG');
    await rejection(wrong.remove!(ref('a')), 'STORE_KEY_WRONG');
    assert.equal(await sha256(storePath('wrong-pp')), before);
  });

  it('a missing passphrase or key file: STORE_KEY_MISSING saying which and what to do', async () => {
    const noPassphrase = await rejection((await open('wrong-pp', 'passphrase')).resolve([ref('a')]), 'STORE_KEY_MISSING');
    assert.match(noPassphrase.message, /\$MCPD_STORE_PASSPHRASE, which is not set/);
    await (await open('lost-key', 'file')).store!(ref('a'), 'value');
    await rm(join(dir, 'lost-key', 'store.key'));
    const noFile = await rejection((await open('lost-key', 'file')).resolve([ref('a')]), 'STORE_KEY_MISSING');
    assert.match(noFile.message, new RegExp(`its key file ${join(dir, 'lost-key', 'store.key')} is missing`));
    assert.match(noFile.hint ?? '', /restore .* from a backup/);
  });

  it('a store cut short or with a garbled entry: STORE_CORRUPT, and neither read nor write rewrites it', async () => {
    await (await open('damaged', 'file')).store!(ref('a'), 'value-aaaa');
    const whole = await readFile(storePath('damaged'), 'utf8');

    await writeFile(storePath('damaged'), whole.slice(0, whole.length / 2));
    const cut = await sha256(storePath('damaged'));
    const truncated = await rejection((await open('damaged', 'file')).resolve([ref('a')]), 'STORE_CORRUPT');
    assert.match(truncated.message, /is damaged .*; it was left untouched/);
    await rejection((await open('damaged', 'file')).store!(ref('b'), 'x'), 'STORE_CORRUPT');
    assert.equal(await sha256(storePath('damaged')), cut);

    const parsed = JSON.parse(whole) as { entries: Record<string, Array<{ data: string }>> };
    const data = Buffer.from(parsed.entries.a![0]!.data, 'base64');
    data[0] = data[0]! ^ 0xff;
    parsed.entries.a![0]!.data = data.toString('base64');
    await writeFile(storePath('damaged'), JSON.stringify(parsed));
    const garbled = await sha256(storePath('damaged'));
    const [outcome] = await (await open('damaged', 'file')).resolve([ref('a')]);
    assert.match(failure(outcome, 'STORE_CORRUPT').message, /entry a fails authentication/);
    assert.equal(await sha256(storePath('damaged')), garbled);
  });

  it('an entry moved to another name does not decrypt there (the name is bound to the ciphertext)', async () => {
    const provider = await open('swap', 'file');
    await provider.store!(ref('github/pat'), 'github-value');
    await provider.store!(ref('linear/key'), 'linear-value');
    const parsed = JSON.parse(await readFile(storePath('swap'), 'utf8')) as { entries: Record<string, unknown> };
    parsed.entries['linear/key'] = parsed.entries['github/pat'];
    await writeFile(storePath('swap'), JSON.stringify(parsed));
    const [outcome] = await (await open('swap', 'file')).resolve([ref('linear/key')]);
    failure(outcome, 'STORE_CORRUPT');
  });

  it('concurrent writers through separate instances: every write lands', async () => {
    const writers = await Promise.all(Array.from({ length: 8 }, () => open('race', 'file')));
    // The first write creates the store and its key; the rest race on an existing file.
    await writers[0]!.store!(ref('seed'), 'seed');
    await Promise.all(writers.map((w, i) => w.store!(ref(`k${i}`), `race-${i}`)));
    const outcomes = await (await open('race', 'file')).resolve(writers.map((_, i) => ref(`k${i}`)));
    assert.deepEqual(outcomes.map(value), writers.map((_, i) => `race-${i}`));
  });
});
