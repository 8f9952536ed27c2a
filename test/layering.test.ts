/**
 * Arrows point down only (docs/architecture.md): a backend knows nothing of the daemon or the
 * CLI; connect/ and the client library know nothing of the CLI and of the daemon only its wire
 * types; core/ knows nothing of the rest. Read from the sources with TypeScript's own scanner, so
 * `import type`, `export … from` and `import()` all count.
 */
import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { backends } from '../providers/backends.js';
import { repoRoot } from './helpers/repo.js';

/** Every .ts file below `folder` of the repository. */
async function sources(folder: string): Promise<string[]> {
  const entries = await readdir(join(repoRoot, folder), { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile() && e.name.endsWith('.ts')).map((e) => join(e.parentPath, e.name));
}

/** The wire types: the one module of daemon/ a client may import. */
const PROTOCOL = 'daemon/protocol.ts';

/**
 * Each relative import of a file below `folder` that lands in one of `forbidden` (top-level
 * folders), as "file: specifier"; an import of one of `allowed` (files) is let through.
 */
async function importsInto(folder: string, forbidden: readonly string[], allowed: readonly string[] = []): Promise<string[]> {
  const found: string[] = [];
  for (const file of await sources(folder)) {
    const { importedFiles } = ts.preProcessFile(await readFile(file, 'utf8'), true, true);
    for (const { fileName } of importedFiles) {
      if (!fileName.startsWith('.')) continue;
      const target = relative(repoRoot, resolve(dirname(file), fileName));
      if (allowed.includes(target.replace(/\.js$/, '.ts'))) continue;
      if (forbidden.includes(target.split(/[\\/]/)[0]!)) found.push(`${relative(repoRoot, file)}: ${fileName}`);
    }
  }
  return found;
}

describe('layering', () => {
  it('sees the imports it checks (the scanner is not blind)', async () => {
    const seen = await importsInto('providers', ['core']);
    assert.ok(seen.some((line) => line.startsWith('providers/registry.ts: ../core/errors.js')), seen.join('\n'));
    assert.ok(seen.some((line) => line.startsWith('providers/vault/auth.ts: ../../core/')), 'reads subfolders too');
  });

  it('no provider imports from daemon/ or cli/', async () => {
    assert.deepEqual(await importsInto('providers', ['daemon', 'cli']), [], 'a backend must not reach up: move what it needs into providers/ or core/');
  });

  it('daemon/ imports nothing of the CLI, connect/ or the client library', async () => {
    assert.deepEqual(await importsInto('daemon', ['cli', 'connect', 'client']), [], 'the daemon is below the CLI: move what both need into core/');
  });

  it('core/ imports from none of the other folders', async () => {
    assert.deepEqual(await importsInto('core', ['cli', 'client', 'connect', 'daemon', 'providers']), [], 'core/ is the bottom layer: move what it needs into core/');
  });

  it('connect/ and client/ import nothing of the CLI, and of the daemon only its wire types', async () => {
    const seen = await importsInto('client', ['daemon']);
    assert.ok(seen.includes('client/index.ts: ../daemon/protocol.js'), `the allowance is exercised: ${seen.join(', ')}`);
    assert.deepEqual(await importsInto('connect', ['cli', 'client', 'daemon', 'providers'], [PROTOCOL]), [], 'connecting to the daemon is below the CLI: move what it needs into connect/ or core/');
    assert.deepEqual(await importsInto('client', ['cli', 'daemon', 'providers'], [PROTOCOL]), [], 'mcpd/client sits on connect/, never on the CLI');
  });

  it('each backend exports its settings, keyed by the type they accept, and create', () => {
    assert.ok(Object.keys(backends).length >= 9, 'every backend is registered');
    for (const [type, backend] of Object.entries(backends)) {
      assert.equal(typeof backend.create, 'function', `${type}: create`);
      assert.equal(backend.settings.shape.type.value, type, `${type}: settings accept "type": "${type}"`);
      assert.equal(backend.settings.safeParse({ type, unknownKey: 1 }).success, false, `${type}: settings refuse unknown keys`);
    }
  });
});
