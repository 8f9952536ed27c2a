/**
 * The second half of `npm run build`, after tsc has type-checked and compiled everything to
 * dist/: the `mcpd` command's hot paths as CommonJS bundles. A host app starts `mcpd run NAME`
 * for every session, so their start-up is paid over and over (BENCHMARKS.md, "Start-up of mcpd
 * run (perf work)"):
 *
 * - dist/cli/mcpd.cjs, package.json's `bin` (cli/bin.ts): reads the plain `mcpd run NAME`
 *   without commander and loads one of the next two with a V8 code cache (cli/cached-require.ts);
 * - dist/cli/run-daemon.cjs (cli/run-daemon.ts): the daemon path: the socket client and ws;
 * - dist/cli/run-local.cjs (cli/run-local.ts): `--no-daemon`: execa, zod, the config, the
 *   providers;
 * - every other command line imports dist/cli/main.js: commander and the other verbs stay the
 *   compiled ES modules.
 *
 * Why bundles: one file instead of ~190 ES modules (no per-module resolution, read and link);
 * CommonJS, because the ES module loader alone costs ~8 ms before the first line runs; code
 * reached only through `import()` is evaluated when imported. Builtins the daemon path requires
 * but rarely uses are loaded on first use (lazyRequireBanner). Packages with native code, a
 * WebAssembly core or files of their own stay outside and load from node_modules as usual.
 *
 *   node dist/scripts/bundle.js
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join, relative } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const bundleFile = join(root, 'dist', 'cli', 'mcpd.cjs');

/** Loaded from node_modules at run time: native addons, a WebAssembly core, files found by path; node-vault's axios with it. */
const EXTERNAL = ['@napi-rs/keyring', '@1password/sdk', 'node-vault', 'axios'];

/**
 * Builtins the daemon path's bundle requires at load time but uses only now and then: `ws`
 * needs `https`, `tls`, `zlib` and `querystring` only for wss: URLs and compression, the socket
 * client needs `child_process`, `fs/promises` and `timers/promises` only to start a daemon.
 */
const LAZY_BUILTINS = ['https', 'tls', 'zlib', 'querystring', 'child_process', 'fs/promises', 'timers/promises'];

/**
 * Prepended to that bundle: `require()` of one of LAZY_BUILTINS returns a stand-in that loads
 * the real module on first property access. The bundle reads builtins' properties at the point
 * of use (`(0, import_x.spawn)(…)`), so a module nobody calls is never loaded (~15 ms in all).
 * `var` may shadow the module wrapper's own `require` parameter; `let` could not.
 */
function lazyRequireBanner(names: readonly string[]): string {
  // The directive first: after any other statement it would not make the bundle strict.
  return `"use strict";
var require = ((real, lazy) => {
  const stub = (id) => { let m; const load = () => (m ??= real(id)); return new Proxy({}, {
    get: (_, key) => load()[key],
    has: (_, key) => key in load(),
    ownKeys: () => Reflect.ownKeys(load()),
    getOwnPropertyDescriptor: (_, key) => { const d = Reflect.getOwnPropertyDescriptor(load(), key); return d && { ...d, configurable: true }; },
  }); };
  return Object.assign((id) => (lazy.has(id.replace(/^node:/, '')) ? stub(id) : real(id)), real);
})(require, new Set(${JSON.stringify(names)}));`;
}

/**
 * Each source file keeps its own `import.meta.url`: the URL of its compiled twin in dist/, so
 * that `new URL('../../package.json', import.meta.url)` finds what it found before bundling.
 */
const ownImportMeta: Plugin = {
  name: 'own-import-meta',
  setup(b) {
    b.onLoad({ filter: /\.ts$/ }, async (args) => {
      const source = await readFile(args.path, 'utf8');
      const compiled = join(root, 'dist', relative(root, args.path)).replace(/\.ts$/, '.js');
      const fromBundle = relative(dirname(bundleFile), compiled);
      const url = `require('node:url').pathToFileURL(require('node:path').join(__dirname, ${JSON.stringify(fromBundle)})).href`;
      return { contents: source.replaceAll('import.meta.url', `(${url})`), loader: 'ts' };
    });
  },
};

/**
 * ws looks for its optional native addons (bufferutil, utf-8-validate) at load time, a failed
 * lookup through every node_modules folder up the tree (~5 ms); mcpd installs neither, and ws
 * then uses its JavaScript versions (and Node's buffer.isUtf8). Its documented switches skip
 * the lookup.
 */
const WS_WITHOUT_ADDONS = { 'process.env.WS_NO_BUFFER_UTIL': '"1"', 'process.env.WS_NO_UTF_8_VALIDATE': '"1"' };

/** `import('./main.js')` in cli/bin.ts: commander and every other verb stay the compiled ES modules in dist/cli. */
const restOfCli: Plugin = {
  name: 'rest-of-cli',
  setup(b) {
    b.onResolve({ filter: /^\.\/main\.js$/ }, (args) => (args.importer === join(root, 'cli', 'bin.ts') ? { path: './main.js', external: true } : undefined));
  },
};

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  // Loaded when first used (autostart's lock), from node_modules.
  external: [...EXTERNAL, 'proper-lockfile'],
  // Stack traces name the bundle's lines; the sources stay readable in dist/ and in git.
  sourcemap: false,
  logLevel: 'warning',
};

/**
 * daemon/remote/sdk-transports.ts with the SDK code it reaches: the SDK is a dev dependency, so
 * the compiled re-export would find nothing in a production install. The daemon's ES modules
 * import the ES module, which replaces tsc's output; `--no-daemon` (run-local.cjs, where import()
 * is require()) requires the CommonJS twin beside it.
 */
const SDK_TRANSPORTS = join(root, 'daemon', 'remote', 'sdk-transports.ts');
/** The gateway's server transport, likewise; only the daemon (ES modules) loads it. */
const SDK_SERVER = join(root, 'daemon', 'gateway', 'sdk-server.ts');
/** jose for the `jwt` provider, likewise: a dev dependency (through the SDK), bundled into mcpd's own file. */
const VENDORED_JOSE = join(root, 'daemon', 'auth', 'providers', 'vendored-jose.ts');
/** The SDK's authorization server router with express, likewise; loaded only for a listener with an `oauth` provider. */
const SDK_AUTH = join(root, 'daemon', 'auth', 'oauth', 'sdk-auth.ts');
const ESM_REQUIRE = { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" };
const vendoredSdk: Plugin = {
  name: 'vendored-sdk',
  setup(b) {
    b.onResolve({ filter: /\/sdk-transports\.js$/ }, () => ({ path: './sdk-transports.cjs', external: true }));
  },
};

const dir = dirname(bundleFile);
await Promise.all([
  build({ ...common, entryPoints: [SDK_TRANSPORTS], outfile: join(root, 'dist', 'daemon', 'remote', 'sdk-transports.js'), format: 'esm', external: [], allowOverwrite: true, banner: ESM_REQUIRE }),
  build({ ...common, entryPoints: [SDK_SERVER], outfile: join(root, 'dist', 'daemon', 'gateway', 'sdk-server.js'), format: 'esm', external: [], allowOverwrite: true, banner: ESM_REQUIRE }),
  build({ ...common, entryPoints: [VENDORED_JOSE], outfile: join(root, 'dist', 'daemon', 'auth', 'providers', 'vendored-jose.js'), format: 'esm', external: [], allowOverwrite: true, banner: ESM_REQUIRE }),
  build({ ...common, entryPoints: [SDK_AUTH], outfile: join(root, 'dist', 'daemon', 'auth', 'oauth', 'sdk-auth.js'), format: 'esm', external: [], allowOverwrite: true, banner: ESM_REQUIRE }),
  build({ ...common, entryPoints: [SDK_TRANSPORTS], outfile: join(dir, 'sdk-transports.cjs'), external: [] }),
  build({ ...common, entryPoints: [join(root, 'cli', 'bin.ts')], outfile: bundleFile, plugins: [ownImportMeta, restOfCli] }),
  // Loaded through cli/cached-require.ts, where import() has no loader: externals (CommonJS packages) are required.
  build({ ...common, entryPoints: [join(root, 'cli', 'run-daemon.ts')], outfile: join(dir, 'run-daemon.cjs'), plugins: [ownImportMeta], supported: { 'dynamic-import': false }, banner: { js: lazyRequireBanner(LAZY_BUILTINS) }, define: WS_WITHOUT_ADDONS }),
  build({ ...common, entryPoints: [join(root, 'cli', 'run-local.ts')], outfile: join(dir, 'run-local.cjs'), plugins: [ownImportMeta, vendoredSdk], supported: { 'dynamic-import': false } }),
]);
