/**
 * What a production install of mcpd brings: the MCP SDK (and through it express, hono, jose…)
 * only for host apps that import `mcpd/client`, which have it already. The CLI and the daemon
 * must never need it at run time, or an install without it breaks.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { build } from 'esbuild';
import { repoRoot } from './helpers/repo.js';

const SDK = '@modelcontextprotocol/sdk';

interface PackageJson {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
}

/** A package loaded at first use with `createRequire(import.meta.url)('NAME')`, which esbuild does not follow. */
const REQUIRED_AT_FIRST_USE = /createRequire\(import\.meta\.url\)\('([^']+)'\)/g;

/** The packages `entries` reach, statically, through import() or required at first use, as esbuild resolves them from the sources. */
async function packagesReached(entries: readonly string[]): Promise<Set<string>> {
  const result = await build({
    entryPoints: entries.map((entry) => join(repoRoot, entry)),
    bundle: true, platform: 'node', format: 'esm', packages: 'external',
    metafile: true, write: false, outdir: join(repoRoot, 'dist', 'package-test'), logLevel: 'silent',
  });
  const reached = Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path));
  for (const input of Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules'))) {
    const source = await readFile(join(repoRoot, input), 'utf8');
    for (const match of source.matchAll(REQUIRED_AT_FIRST_USE)) reached.push(match[1]!);
  }
  return new Set(reached.filter((path) => !path.startsWith('node:')).map((path) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/')));
}

describe('the published package', () => {
  it('has the MCP SDK as an optional peer dependency (and a dev one), not a dependency', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
    assert.equal(pkg.dependencies[SDK], undefined, 'a dependency would put it in every production install');
    assert.ok(pkg.peerDependencies?.[SDK], 'mcpd/client states the SDK it works with');
    assert.equal(pkg.peerDependenciesMeta?.[SDK]?.optional, true, 'the CLI alone does not need it');
    assert.equal(pkg.devDependencies[SDK], pkg.peerDependencies[SDK], 'the tests and the demo use the range host apps are promised');
  });

  it('the CLI and the daemon reach no package outside "dependencies"; mcpd/client reaches the SDK', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
    // bin.ts reaches main.ts and every verb, the daemon included; the two bundles it loads by path are entries of their own.
    const cli = await packagesReached(['cli/bin.ts', 'cli/run-daemon.ts', 'cli/run-local.ts']);
    assert.ok(cli.has('node-vault') && cli.has('commander'), `the check sees the CLI's packages: ${[...cli].join(', ')}`);
    assert.deepEqual([...cli].filter((name) => !Object.hasOwn(pkg.dependencies, name)), []);
    const client = await packagesReached(['client/index.ts']);
    assert.ok(client.has(SDK), `mcpd/client imports the SDK: ${[...client].join(', ')}`);
  });

  it('the built CLI bundles do not require the SDK', async () => {
    for (const file of ['mcpd.cjs', 'run-daemon.cjs', 'run-local.cjs']) {
      const text = await readFile(join(repoRoot, 'dist', 'cli', file), 'utf8');
      assert.ok(!text.includes(SDK), `dist/cli/${file} mentions ${SDK}`);
    }
  });
});
