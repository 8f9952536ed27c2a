/**
 * The floor under `mcpd run --no-daemon`'s start-up for bench/startup: a process that does
 * nothing but spawn `/bin/true` through execa with mcpd's launcher options, loaded the way
 * `mcpd run` loads its bundle (CommonJS, esbuild, with a V8 code cache: cli/cached-require.ts).
 * execa stays (issue 15), so what it costs over `node -e 0` is what no change elsewhere in mcpd
 * can win back; beside it, the same spawn through child_process alone.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** cli/cached-require.ts as built beside this file, the code `mcpd run` loads its bundle with. */
const cachedRequire = fileURLToPath(new URL('../cli/cached-require.js', import.meta.url));

/** The options daemon/launcher/child.ts spawns a server with, for a command that exits at once. */
const SPAWN = `execa('/bin/true', [], { extendEnv: false, env: {}, shell: false, detached: true, stdin: 'inherit', stdout: 'inherit', stderr: 'pipe', buffer: false, reject: false, windowsHide: true }).then(() => {});`;

/** Writes the floor's scripts into `dir`; returns the argv (after `node`) of each. */
export async function execaFloor(dir: string): Promise<{ execa: string[]; spawn: string[] }> {
  const spawner = join(dir, 'execa-true.cjs');
  const loader = join(dir, 'execa-floor.cjs');
  await build({ stdin: { contents: `import { execa } from 'execa';\n${SPAWN}`, resolveDir: root, loader: 'js' }, bundle: true, platform: 'node', format: 'cjs', outfile: spawner, logLevel: 'error' });
  await build({
    stdin: { contents: `import { requireCached } from ${JSON.stringify(cachedRequire)};\nrequireCached(${JSON.stringify(spawner)});`, resolveDir: root, loader: 'js' },
    bundle: true, platform: 'node', format: 'cjs', outfile: loader, logLevel: 'error',
  });
  const plain = join(dir, 'spawn-true.cjs');
  await writeFile(plain, "require('node:child_process').spawn('/bin/true', [], { detached: true, stdio: ['inherit', 'inherit', 'pipe'] });\n");
  return { execa: [loader], spawn: [plain] };
}
