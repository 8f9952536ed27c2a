/**
 * require() of one of mcpd's own CommonJS bundles with a V8 code cache beside it,
 * as Node 22's module.enableCompileCache() would keep one; Node 20 has none. Compiling
 * dist/cli/run-local.cjs (execa, zod, the providers: ~600 KB) is most of what `mcpd run
 * --no-daemon` spends before it spawns the server; from the cache V8 reads the compiled code
 * instead.
 *
 * The cache is written when a run ends that found none, or one V8 refused (another Node
 * version, other V8 flags): to a temporary file, then renamed, so concurrent runs never read
 * half a cache. It goes beside the bundle; where the install is not the user's to write (a
 * global install by root, a read-only image) it goes to the user's cache folder
 * (`$XDG_CACHE_HOME/mcpd/code-cache`, else `~/.cache/…`), and where neither can be written the
 * bundle simply runs without one. It holds compiled code from the bundle's source only, never a
 * value the run saw.
 *
 * V8 checks a cache against its source by length only, so the cache's name carries the
 * bundle's size and mtime: a rebuilt bundle never meets the code of the one before.
 */
import { mkdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Script } from 'node:vm';

type Wrapper = (exports: object, require: NodeJS.Require, module: { exports: object }, filename: string, dirname: string) => void;

/** Loads `file` (an absolute path to a bundle) as require() would, compiled with its code cache. */
export function requireCached(file: string): unknown {
  const { size, mtimeMs } = statSync(file);
  const name = `${basename(file)}.${size}-${Math.trunc(mtimeMs)}.cache`;
  const places = [join(dirname(file), name), join(userCacheDir(), name)];
  let cachedData: Buffer | undefined;
  for (const place of places) {
    try {
      cachedData = readFileSync(place);
      break;
    } catch {
      // Not there: the next place, or this run writes it.
    }
  }
  const source = readFileSync(file, 'utf8').replace(/^#!.*/, '');
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  if (cachedData === undefined || script.cachedDataRejected) {
    // At exit, the functions this run compiled are in the cache too, not only the top level.
    process.once('exit', () => places.some((place) => save(place, script)));
  }
  const module = { exports: {} };
  (script.runInThisContext() as Wrapper)(module.exports, createRequire(file), module, file, dirname(file));
  return module.exports;
}

/** Writes the cache to `cacheFile`; false when that folder cannot be written. */
function save(cacheFile: string, script: Script): boolean {
  const temporary = `${cacheFile}.${process.pid}`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true, mode: 0o700 });
    writeFileSync(temporary, script.createCachedData(), { mode: 0o644 });
    renameSync(temporary, cacheFile);
    return true;
  } catch {
    try { unlinkSync(temporary); } catch { /* never written */ }
    return false;
  }
}

function userCacheDir(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'mcpd', 'code-cache');
}
