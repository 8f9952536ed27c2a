/**
 * What a production install of mcpd brings. The MCP SDK is a dependency: the daemon and
 * `mcpd run --no-daemon` bridge url servers with its client transports (daemon/remote/), and
 * `mcpd/client` imports it. It stays off the start-up path of `mcpd run` for a local server:
 * the bundles load it only when a url server is run.
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
  it('has the MCP SDK as a dependency: the daemon connects to url servers with it', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
    assert.ok(pkg.dependencies[SDK], 'a url server needs it at run time');
    assert.equal(pkg.devDependencies[SDK], undefined, 'listed once');
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dependencies?: Record<string, string>; dev?: boolean }> };
    assert.equal(lock.packages['']?.dependencies?.[SDK], pkg.dependencies[SDK], 'the lock agrees with package.json');
    assert.notEqual(lock.packages[`node_modules/${SDK}`]?.dev, true, 'the lock installs it in production');
  });

  it('the CLI and the daemon reach no package outside "dependencies"; mcpd/client reaches the SDK', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
    // bin.ts reaches main.ts and every verb, the daemon included; the two bundles it loads by path are entries of their own.
    const cli = await packagesReached(['cli/bin.ts', 'cli/run-daemon.ts', 'cli/run-local.ts']);
    assert.ok(cli.has('node-vault') && cli.has('commander'), `the check sees the CLI's packages: ${[...cli].join(', ')}`);
    assert.deepEqual([...cli].filter((name) => !Object.hasOwn(pkg.dependencies, name)), []);
    assert.ok(cli.has(SDK), `the url servers' bridge reaches the SDK: ${[...cli].join(', ')}`);
    const client = await packagesReached(['client/index.ts']);
    assert.ok(client.has(SDK), `mcpd/client imports the SDK: ${[...client].join(', ')}`);
  });

  it('the built CLI bundles load the SDK only lazily, so a local server\'s start-up never pays for it', async () => {
    for (const file of ['mcpd.cjs', 'run-daemon.cjs']) {
      const text = await readFile(join(repoRoot, 'dist', 'cli', file), 'utf8');
      assert.ok(!text.includes(SDK), `dist/cli/${file} mentions ${SDK}`);
    }
    // --no-daemon bridges a url server in-process: there the SDK is required inside import(), at first use.
    const local = await readFile(join(repoRoot, 'dist', 'cli', 'run-local.cjs'), 'utf8');
    const uses = [...local.matchAll(new RegExp(`.{0,60}require\\("${SDK}[^"]*"\\)`, 'g'))].map((m) => m[0]);
    assert.ok(uses.length > 0, 'run-local.cjs reaches the SDK for url servers');
    for (const use of uses) assert.match(use, /Promise\.resolve\(\)\.then\(\(\) => __toESM\(require\(/, `loaded lazily: ${use}`);
  });
});
