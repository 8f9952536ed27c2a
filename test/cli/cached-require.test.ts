/**
 * cli/cached-require.ts, on real processes: a bundle loads the same with or without its code
 * cache, the first run writes the cache, later runs keep it, a cache V8 refuses (here:
 * garbage) is replaced rather than trusted, a changed bundle of the same length (which V8
 * alone would not tell apart) runs its new code, and a bundle in a folder the user cannot write
 * (another user here: nobody, as a global install by root is to its users) keeps its cache in the
 * user's cache folder.
 */
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { repoRoot } from '../helpers/repo.js';

const loader = pathToFileURL(join(repoRoot, 'dist', 'cli', 'cached-require.js')).href;

describe('requireCached', () => {
  let dir: string;
  let bundle: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcpd-cache-'));
    bundle = join(dir, 'bundle.cjs');
    await writeFile(bundle, "#!/usr/bin/env node\nconst { basename } = require('node:path');\nmodule.exports = { name: basename(__filename), dir: __dirname, twice: (n) => n * 2 };\n");
  });
  after(() => rm(dir, { recursive: true, force: true }));

  /** The one cache file beside the bundle. */
  async function cacheFile(): Promise<string> {
    const caches = (await readdir(dir)).filter((name) => name.endsWith('.cache'));
    assert.equal(caches.length, 1, `one cache file, found: ${caches.join(', ')}`);
    return join(dir, caches[0]!);
  }

  /** Loads the bundle in a fresh process (as `user`, with `env`) and prints what it exports. */
  async function load(options: { user?: string; env?: Record<string, string> } = {}): Promise<{ name: string; dir: string; twice: number }> {
    const script = `const { requireCached } = await import(${JSON.stringify(loader)}); const m = requireCached(${JSON.stringify(bundle)}); console.log(JSON.stringify({ name: m.name, dir: m.dir, twice: m.twice(21) }));`;
    const node = [process.execPath, '--input-type=module', '-e', script];
    const [command, ...args] = options.user ? ['runuser', '-u', options.user, '--', ...node] : node;
    const { stdout } = await execa(command!, args, { env: options.env });
    return JSON.parse(stdout) as { name: string; dir: string; twice: number };
  }

  it('loads the bundle as require() would and writes its cache at exit', async () => {
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.ok((await stat(await cacheFile())).size > 0, 'the first run writes the cache');
  });

  it('keeps a cache V8 accepts', async () => {
    const cache = await cacheFile();
    const before = await readFile(cache);
    const { mtimeMs } = await stat(cache);
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.deepEqual(await readFile(cache), before);
    assert.equal((await stat(cache)).mtimeMs, mtimeMs);
  });

  it('replaces a cache V8 refuses', async () => {
    const cache = await cacheFile();
    await writeFile(cache, 'not a code cache');
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.notEqual(await readFile(cache, 'utf8'), 'not a code cache');
  });

  it('keeps the cache in the user\'s cache folder when the bundle\'s folder is not the user\'s to write', async () => {
    // The bundle folder: root's, readable by all, writable by root only.
    await chmod(dir, 0o755);
    await chmod(bundle, 0o644);
    for (const name of await readdir(dir)) if (name.endsWith('.cache')) await rm(join(dir, name));
    const home = join(dir, 'nobody-home');
    await mkdir(home);
    const uid = Number((await execa('id', ['-u', 'nobody'])).stdout);
    await chown(home, uid, -1);
    const env = { XDG_CACHE_HOME: join(home, '.cache') };
    assert.deepEqual(await load({ user: 'nobody', env }), { name: 'bundle.cjs', dir, twice: 42 });
    const folder = join(home, '.cache', 'mcpd', 'code-cache');
    const written = (await readdir(folder)).filter((name) => name.endsWith('.cache'));
    assert.equal(written.length, 1, 'the cache went to the user\'s cache folder');
    assert.match(written[0]!, /^bundle\.cjs\.\d+-\d+\.cache$/);
    const { mtimeMs } = await stat(join(folder, written[0]!));
    assert.deepEqual(await load({ user: 'nobody', env }), { name: 'bundle.cjs', dir, twice: 42 });
    assert.equal((await stat(join(folder, written[0]!))).mtimeMs, mtimeMs, 'a later run reads it and leaves it');
    assert.deepEqual((await readdir(dir)).filter((name) => name.endsWith('.cache')), [], 'nothing written beside the bundle');
  });

  it('runs a rebuilt bundle of the same length as it now is, not from the old cache', async () => {
    const source = await readFile(bundle, 'utf8');
    const rebuilt = source.replace('n * 2', 'n * 3');
    assert.equal(rebuilt.length, source.length);
    await writeFile(bundle, rebuilt);
    // A different mtime even on a file system with coarse timestamps.
    await utimes(bundle, new Date(), new Date(Date.now() + 5000));
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 63 });
  });
});
