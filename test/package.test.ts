/**
 * What a production install of mcpd brings. The MCP SDK (and through it express, hono, jose…) is
 * a dev dependency, and an optional peer of `mcpd/client`, whose host apps have it already. The
 * remote bridge uses the SDK's two client transports: the build bundles them, with the SDK code
 * they reach, into files of mcpd's own (daemon/remote/sdk-transports.ts), so neither the CLI nor
 * the daemon needs the SDK installed.
 */
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, it } from 'node:test';
import { build, type Plugin } from 'esbuild';
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

/** The vendored transports are bundled by the build: what they import is not installed. */
const vendored: Plugin = {
  name: 'vendored',
  setup(b) {
    b.onResolve({ filter: /\/(sdk-(transports|server|auth)|vendored-jose)\.js$/ }, (args) => ({ path: args.path, external: true }));
  },
};

/** The packages `entries` reach, statically, through import() or required at first use, as esbuild resolves them from the sources. */
async function packagesReached(entries: readonly string[]): Promise<Set<string>> {
  const result = await build({
    entryPoints: entries.map((entry) => join(repoRoot, entry)),
    bundle: true, platform: 'node', format: 'esm', packages: 'external', plugins: [vendored],
    metafile: true, write: false, outdir: join(repoRoot, 'dist', 'package-test'), logLevel: 'silent',
  });
  const reached = Object.values(result.metafile.outputs).flatMap((output) => output.imports.filter((i) => i.external).map((i) => i.path));
  for (const input of Object.keys(result.metafile.inputs).filter((path) => !path.includes('node_modules'))) {
    const source = await readFile(join(repoRoot, input), 'utf8');
    for (const match of source.matchAll(REQUIRED_AT_FIRST_USE)) reached.push(match[1]!);
  }
  return new Set(reached.filter((path) => !path.startsWith('node:') && !path.startsWith('.')).map((path) => path.split('/').slice(0, path.startsWith('@') ? 2 : 1).join('/')));
}

describe('the published package', () => {
  it('has the MCP SDK as an optional peer dependency (and a dev one), not a dependency', async () => {
    const pkg = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as PackageJson;
    assert.equal(pkg.dependencies[SDK], undefined, 'a dependency would put it in every production install');
    assert.ok(pkg.peerDependencies?.[SDK], 'mcpd/client states the SDK it works with');
    assert.equal(pkg.peerDependenciesMeta?.[SDK]?.optional, true, 'the CLI alone does not need it');
    assert.equal(pkg.devDependencies[SDK], pkg.peerDependencies[SDK], 'the build, the tests and the demo use the range host apps are promised');
    const lock = JSON.parse(await readFile(join(repoRoot, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    assert.equal(lock.packages[`node_modules/${SDK}`]?.dev, true, 'the lock leaves it out of a production install');
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

  it('the built CLI bundles do not require the SDK; --no-daemon requires the vendored transports at first use', async () => {
    for (const file of ['mcpd.cjs', 'run-daemon.cjs', 'run-local.cjs']) {
      const text = await readFile(join(repoRoot, 'dist', 'cli', file), 'utf8');
      assert.ok(!text.includes(`require("${SDK}`), `dist/cli/${file} requires ${SDK}`);
    }
    const local = await readFile(join(repoRoot, 'dist', 'cli', 'run-local.cjs'), 'utf8');
    const uses = [...local.matchAll(/.{0,60}require\("\.\/sdk-transports\.cjs"\)/g)].map((m) => m[0]);
    assert.ok(uses.length > 0, 'run-local.cjs reaches the vendored transports for url servers');
    for (const use of uses) assert.match(use, /Promise\.resolve\(\)\.then\(\(\) => __toESM\(require\(/, `loaded lazily: ${use}`);
  });

  it('the vendored transports load where no package is installed', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcpd-vendored-'));
    try {
      await copyFile(join(repoRoot, 'dist', 'daemon', 'remote', 'sdk-transports.js'), join(dir, 'sdk-transports.mjs'));
      await copyFile(join(repoRoot, 'dist', 'cli', 'sdk-transports.cjs'), join(dir, 'sdk-transports.cjs'));
      const esm = (await import(pathToFileURL(join(dir, 'sdk-transports.mjs')).href)) as Record<string, unknown>;
      const cjs = createRequire(join(dir, 'x.cjs'))('./sdk-transports.cjs') as Record<string, unknown>;
      for (const loaded of [esm, cjs]) {
        assert.equal(typeof loaded.StreamableHTTPClientTransport, 'function');
        assert.equal(typeof loaded.SSEClientTransport, 'function');
      }
      // The gateway's server transport (daemon/gateway/sdk-server.ts), which only the daemon's ES modules load.
      await copyFile(join(repoRoot, 'dist', 'daemon', 'gateway', 'sdk-server.js'), join(dir, 'sdk-server.mjs'));
      const server = (await import(pathToFileURL(join(dir, 'sdk-server.mjs')).href)) as Record<string, unknown>;
      assert.equal(typeof server.WebStandardStreamableHTTPServerTransport, 'function');
      // jose for the jwt provider (daemon/auth/providers/vendored-jose.ts), likewise.
      await copyFile(join(repoRoot, 'dist', 'daemon', 'auth', 'providers', 'vendored-jose.js'), join(dir, 'vendored-jose.mjs'));
      const jose = (await import(pathToFileURL(join(dir, 'vendored-jose.mjs')).href)) as Record<string, unknown>;
      assert.equal(typeof jose.jwtVerify, 'function');
      assert.equal(typeof jose.createRemoteJWKSet, 'function');
      // The authorization server's router and express (daemon/auth/oauth/sdk-auth.ts), loaded for an `oauth` listener.
      await copyFile(join(repoRoot, 'dist', 'daemon', 'auth', 'oauth', 'sdk-auth.js'), join(dir, 'sdk-auth.mjs'));
      const auth = (await import(pathToFileURL(join(dir, 'sdk-auth.mjs')).href)) as Record<string, unknown>;
      assert.equal(typeof auth.mcpAuthRouter, 'function');
      assert.equal(typeof auth.express, 'function');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
