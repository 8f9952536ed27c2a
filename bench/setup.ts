/**
 * The throwaway home every bench script runs in (mkdtemp: `HOME`, `XDG_*`, `MCPD_CONFIG`,
 * `MCPD_SOCKET`), its config with two servers, and the stored secret.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { type ThrowawayEnv, throwawayEnv } from '../scripts/throwaway-env.js';
import { cli } from './daemon.js';
import { type Variant, root } from './rpc.js';

export const TOKEN = `bench-${'x'.repeat(24)}`;
export const miniServer = join(root, 'test/fixtures/mini-mcp.js');
const everythingPkg = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json');

export type BenchEnv = ThrowawayEnv;

/**
 * Every variant gets this same small environment: mcpd hands its server only a safelist, so
 * giving `direct` the caller's full environment would compare two different Node start-ups
 * (NODE_EXTRA_CA_CERTS alone costs ~50 ms of boot on this kind of machine). The socket sits right
 * in the mkdtemp folder, to keep its path short.
 */
function sandboxEnv(home: string): BenchEnv {
  return throwawayEnv(home, { config: join(home, 'config.json'), socket: join(home, 'run', 'd.sock') });
}

export interface Bench {
  home: string;
  env: BenchEnv;
  /** server-everything's entry script and version. */
  entry: string;
  version: string;
}

/**
 * `everything` is server-everything with BENCH_TOKEN from the local store; `mini` is the test
 * fixture, for the bulk rows: server-everything has no tool that returns 10 MiB.
 */
export async function prepareHome(): Promise<Bench> {
  const pkg = JSON.parse(await readFile(everythingPkg, 'utf8')) as { version: string; bin: Record<string, string> };
  const entry = join(dirname(everythingPkg), pkg.bin['mcp-server-everything'] ?? 'dist/index.js');
  const home = await mkdtemp(join(tmpdir(), 'mcpd-bench-'));
  const env = sandboxEnv(home);
  await writeFile(env.MCPD_CONFIG, JSON.stringify({
    mcpServers: {
      everything: { command: process.execPath, args: [entry, 'stdio'], env: { BENCH_TOKEN: '${local:bench/token}' } },
      mini: { command: process.execPath, args: [miniServer] },
    },
    providers: { local: { type: 'local', key: 'file' } },
  }));
  await execa(process.execPath, [cli, 'secret', 'set', 'local:bench/token'], { env, extendEnv: false, input: TOKEN });
  return { home, env, entry, version: pkg.version };
}

/** The three ways to run `mini`: the bulk rows. */
export function miniVariants(names: { direct: string; noDaemon: string; daemon: string }): Variant[] {
  const node = process.execPath;
  return [
    { name: names.direct, command: node, args: [miniServer] },
    { name: names.noDaemon, command: node, args: [cli, 'run', '--no-daemon', 'mini'] },
    { name: names.daemon, command: node, args: [cli, 'run', 'mini'] },
  ];
}
