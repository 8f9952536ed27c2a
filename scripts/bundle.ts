/**
 * The second half of `npm run build`: bundles the `mcpd` command into one CommonJS file,
 * dist/cli/mcpd.cjs (package.json's `bin`), after tsc has type-checked and compiled everything
 * to dist/. A host app starts `mcpd run NAME` for every session, so its start-up is paid over
 * and over; measured on Node 20 (BENCHMARKS.md, "Start-up of mcpd run"):
 *
 * - one file instead of ~190 ES modules: no per-module resolution, read and link;
 * - CommonJS: the ES module loader alone costs ~8 ms before the first line runs;
 * - code reached only through `import()` (each verb, each provider) is evaluated when imported,
 *   so `mcpd run NAME` evaluates only the run path;
 * - builtins the daemon path requires but rarely uses (`https`, `tls` and `zlib` for ws,
 *   `child_process` for autostart) are loaded on first use (lazyRequireBanner).
 *
 * Packages with native code, a WebAssembly core or files of their own stay outside the bundle
 * and load from node_modules as usual.
 *
 *   node dist/scripts/bundle.js
 */
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { dirname, join, relative } from 'node:path';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const bundleFile = join(root, 'dist', 'cli', 'mcpd.cjs');

/** Loaded from node_modules at run time: native addons, a WebAssembly core, files found by path. */
const EXTERNAL = ['@napi-rs/keyring', '@1password/sdk', 'node-vault', '@modelcontextprotocol/sdk'];

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

await Promise.all([
  build({ ...common, entryPoints: [join(root, 'cli', 'bin.ts')], outfile: bundleFile, plugins: [ownImportMeta, restOfCli], banner: { js: lazyRequireBanner(LAZY_BUILTINS) } }),
  build({ ...common, entryPoints: [join(root, 'cli', 'run-local.ts')], outfile: join(dirname(bundleFile), 'run-local.cjs'), plugins: [ownImportMeta] }),
]);
