/**
 * `npm run demo`: the main job, end to end, on the embedded default store and nothing else.
 * Stores a generated secret in the local encrypted store, launches the reference MCP server
 * (`@modelcontextprotocol/server-everything`) through `mcpd run` — which starts the daemon — connects
 * the MCP SDK's own Client, and asks the server for its environment to show the secret arrived,
 * and that the rest of the caller's environment did not. Then a second launch on the warm daemon,
 * and the daemon is stopped.
 *
 * Everything happens in a throwaway home, so your own config, store and keychain are untouched.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { execa } from 'execa';
import { throwawayEnv } from './throwaway-env.js';

const cli = fileURLToPath(new URL('../cli/mcpd.cjs', import.meta.url));
const server = createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/dist/index.js');

async function main(): Promise<void> {
  const home = await mkdtemp(join(tmpdir(), 'mcpd-demo-'));
  try {
    const env = throwawayEnv(home, { config: join(home, 'config.json'), socket: join(home, 'mcpd.sock') });
    await writeFile(env.MCPD_CONFIG, JSON.stringify({
      mcpServers: { everything: { command: process.execPath, args: [server, 'stdio'], env: { DEMO_API_KEY: '${local:demo/api-key}' } } },
      // A key file beside the store: no keychain, no passphrase, no account needed.
      providers: { local: { type: 'local', key: 'file' } },
    }, null, 2));

    const secret = `demo-${randomBytes(16).toString('hex')}`;
    await execa(process.execPath, [cli, 'secret', 'set', 'local:demo/api-key'], { env, extendEnv: false, input: secret });
    step(`stored a generated secret as \${local:demo/api-key} in ${join(home, '.local/share/mcpd/store.json')} (AES-256-GCM)`);

    try {
      const first = await launch(env, 'started the daemon, spawned the server and initialized');
      report(first, secret);
      await launch(env, 'again, with the daemon running');
    } finally {
      await execa(process.execPath, [cli, 'stop'], { env, extendEnv: false, reject: false });
      step('stopped the daemon');
    }
  } finally {
    await rm(home, { recursive: true, force: true });
  }
}

/** One session through `mcpd run everything`; returns the server's environment as get-env reports it. */
async function launch(env: Record<string, string>, what: string): Promise<Record<string, string>> {
  const started = performance.now();
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [cli, 'run', 'everything'],
    env: { ...env, MCPD_DEMO_PARENT_ONLY: 'this must not reach the server' },
    stderr: 'ignore',
  });
  const client = new Client({ name: 'mcpd-demo', version: '1.0.0' });
  await client.connect(transport);
  step(`mcpd run everything: ${what} in ${(performance.now() - started).toFixed(0)} ms (server: ${client.getServerVersion()?.name ?? '?'})`);
  const result = await client.callTool({ name: 'get-env', arguments: {} });
  await client.close();
  const content = result.content as Array<{ type: string; text: string }>;
  return JSON.parse(content[0]?.text ?? '{}') as Record<string, string>;
}

function report(serverEnv: Record<string, string>, secret: string): void {
  const arrived = serverEnv.DEMO_API_KEY === secret;
  step(`get-env: DEMO_API_KEY=${mask(serverEnv.DEMO_API_KEY)} — ${arrived ? 'the stored secret arrived' : 'MISSING OR WRONG'}`);
  const leaked = 'MCPD_DEMO_PARENT_ONLY' in serverEnv;
  step(`the server saw ${Object.keys(serverEnv).length} variables; the caller's MCPD_DEMO_PARENT_ONLY ${leaked ? 'LEAKED' : 'stayed out'}`);
  if (!arrived || leaked) process.exitCode = 1;
}

function mask(value: string | undefined): string {
  return value === undefined ? '(absent)' : `${value.slice(0, 5)}${'*'.repeat(8)} (${value.length} chars)`;
}

function step(message: string): void {
  process.stdout.write(`mcpd demo: ${message}\n`);
}

await main();
