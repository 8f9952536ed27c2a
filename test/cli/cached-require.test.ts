/**
 * cli/cached-require.ts, on real processes: a bundle loads the same with or without its code
 * cache, the first run writes the cache, later runs keep it, and a cache V8 refuses (here:
 * garbage) is replaced rather than trusted.
 */
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
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

  /** Loads the bundle in a fresh process and prints what it exports. */
  async function load(): Promise<{ name: string; dir: string; twice: number }> {
    const script = `const { requireCached } = await import(${JSON.stringify(loader)}); const m = requireCached(${JSON.stringify(bundle)}); console.log(JSON.stringify({ name: m.name, dir: m.dir, twice: m.twice(21) }));`;
    const { stdout } = await execa(process.execPath, ['--input-type=module', '-e', script]);
    return JSON.parse(stdout) as { name: string; dir: string; twice: number };
  }

  it('loads the bundle as require() would and writes its cache at exit', async () => {
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.ok((await stat(`${bundle}.cache`)).size > 0, 'the first run writes the cache');
  });

  it('keeps a cache V8 accepts', async () => {
    const before = await readFile(`${bundle}.cache`);
    const { mtimeMs } = await stat(`${bundle}.cache`);
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.deepEqual(await readFile(`${bundle}.cache`), before);
    assert.equal((await stat(`${bundle}.cache`)).mtimeMs, mtimeMs);
  });

  it('replaces a cache V8 refuses', async () => {
    await writeFile(`${bundle}.cache`, 'not a code cache');
    assert.deepEqual(await load(), { name: 'bundle.cjs', dir, twice: 42 });
    assert.notEqual((await readFile(`${bundle}.cache`, 'utf8')), 'not a code cache');
  });
});
