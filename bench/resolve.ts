/**
 * bench/resolve: how long one launch's resolution takes (resolveEnv, as the daemon runs it) for
 * 1, 10 and 50 references, and how many backend calls it makes, against the test doubles of
 * Vault (HTTP on loopback) and 1Password (the SDK's client interface, in memory), next to the
 * direct baseline: the same reads made straight through node-vault / the client, no mcpd.
 *
 *   cold     a fresh registry: connect (Vault token lookup, 1Password client creation), then read
 *   expired  the daemon's long-lived client, its cache past cacheTtl: reads only
 *   warm     within cacheTtl: served from memory, no backend call
 *
 * Variants are interleaved (one run of each, then the next) so drift hits all alike.
 * Usage: node dist/bench/resolve.js [--runs N]
 */
import { cpus, loadavg, release } from 'node:os';
import nodeVault from 'node-vault';
import type { Clock } from '../core/clock.js';
import { ProviderRegistry } from '../providers/registry.js';
import { resolveEnv } from '../providers/resolver.js';
import { createOnePassword } from '../providers/onepassword.js';
import { OnePasswordDouble } from '../test/doubles/onepassword.js';
import { VaultDouble } from '../test/doubles/vault.js';
import { count, f, median, msSince } from './stats.js';

const SIZES = [1, 10, 50] as const;
const TOKEN = 'hvs.bench-root';
const OP_TOKEN = 'ops_bench-double-token';

/** A clock the bench moves past cacheTtl by hand; timers are the system's. */
class SteppedClock implements Clock {
  offset = 0;
  now = () => Date.now() + this.offset;
  setTimeout = (callback: () => void, ms: number) => ({ id: setTimeout(callback, ms) });
  clearTimeout = (timer: { id: unknown }) => clearTimeout(timer.id as NodeJS.Timeout);
}

interface Backend {
  readonly name: string;
  /** `${…}` references for a launch of n variables, each a distinct secret. */
  env(n: number): Record<string, string>;
  registry(clock: Clock): ProviderRegistry;
  /** The same n reads, straight through the backend's own client. */
  direct(n: number): Promise<void>;
  calls(): number;
  close(): Promise<void>;
}

async function vaultBackend(): Promise<Backend> {
  const double = await VaultDouble.start();
  double.addToken(TOKEN);
  double.mountKv('secret', 2);
  for (let i = 0; i < 50; i++) double.putKv(`secret/app${i}`, { token: `value-${i}-${'x'.repeat(24)}` });
  const env = { VAULT_ADDR: double.url, VAULT_TOKEN: TOKEN };
  const client = nodeVault({ endpoint: double.url, token: TOKEN });
  return {
    name: 'vault (double)',
    env: (n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`V${i}`, `\${vault:secret/data/app${i}#token}`])),
    registry: (clock) => new ProviderRegistry({}, { env, cache: clock }),
    direct: async (n) => {
      await Promise.all(Array.from({ length: n }, (_, i) => client.read(`secret/data/app${i}`)));
    },
    calls: () => double.calls.length,
    close: () => double.close(),
  };
}

function onePasswordBackend(): Backend {
  const double = new OnePasswordDouble({ tokens: [OP_TOKEN] });
  for (let i = 0; i < 50; i++) double.addItem('Work', `App ${i}`, { credential: `value-${i}-${'x'.repeat(24)}` });
  const env = { OP_SERVICE_ACCOUNT_TOKEN: OP_TOKEN };
  const refs = (n: number) => Array.from({ length: n }, (_, i) => `op://Work/App ${i}/credential`);
  let client: Awaited<ReturnType<typeof double.createClient>> | undefined;
  return {
    name: '1password (double)',
    env: (n) => Object.fromEntries(refs(n).map((ref, i) => [`O${i}`, `\${${ref}}`])),
    registry: (clock) => new ProviderRegistry({}, {
      env, cache: clock,
      factories: { '1password': (name, config, ctx) => createOnePassword(name, config, ctx, { createClient: double.createClient }) },
    }),
    direct: async (n) => {
      client ??= await double.createClient({ auth: OP_TOKEN, integrationName: 'bench', integrationVersion: '1' });
      await client.secrets.resolveAll(refs(n));
    },
    calls: () => Object.values(double.calls).reduce((a, b) => a + b, 0),
    close: async () => {},
  };
}

type Variant = 'direct' | 'cold' | 'expired' | 'warm';
const VARIANTS: readonly Variant[] = ['direct', 'cold', 'expired', 'warm'];

async function main(): Promise<void> {
  const runs = count(process.argv[process.argv.indexOf('--runs') + 1] ?? '30', '--runs', 1);
  const backends = [await vaultBackend(), onePasswordBackend()];
  const load = loadavg()[0]!;
  const rows: string[] = [];
  for (const backend of backends) {
    const clock = new SteppedClock();
    const daemonRegistry = backend.registry(clock);
    for (const n of SIZES) {
      const env = { env: backend.env(n) };
      const place = (v: string) => `bench.env.${v}`;
      const times = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
      const calls = new Map<Variant, number[]>(VARIANTS.map((v) => [v, []]));
      await resolveEnv(env, daemonRegistry, place); // warm the long-lived client once
      for (let run = 0; run < runs + 1; run++) {
        for (const variant of VARIANTS) {
          const before = backend.calls();
          const t0 = process.hrtime.bigint();
          if (variant === 'direct') await backend.direct(n);
          else if (variant === 'cold') {
            const fresh = backend.registry(clock);
            await resolveEnv(env, fresh, place);
            await fresh.close();
          } else {
            if (variant === 'expired') clock.offset += 6 * 60_000;
            await resolveEnv(env, daemonRegistry, place);
          }
          const ms = msSince(t0);
          if (run === 0) continue; // one untimed round first
          times.get(variant)!.push(ms);
          calls.get(variant)!.push(backend.calls() - before);
        }
      }
      const med = (v: Variant) => median(times.get(v)!);
      const callsOf = (v: Variant) => median(calls.get(v)!);
      rows.push(`| ${backend.name} | ${n} | ${f(med('direct'), 2)} | ${f(med('cold'), 2)} | ${f(med('cold') / med('direct'), 2)} | ${f(med('expired'), 2)} | ${f(med('expired') / med('direct'), 2)} | ${f(med('warm'), 3)} | ${f(med('warm') / med('cold'), 3)} | ${callsOf('direct')} | ${callsOf('cold')} | ${callsOf('expired')} | ${callsOf('warm')} |`);
    }
    await daemonRegistry.close();
    await backend.close();
  }
  const facts = `date: ${new Date().toISOString()} · node ${process.version} · ${cpus()[0]?.model.trim() ?? '?'} · ${cpus().length} cores · linux ${release()} · load average (1 min) ${f(load, 2)} before, ${f(loadavg()[0]!, 2)} after`;
  process.stdout.write(`${facts}\n${runs} runs per variant, interleaved, after one untimed round; medians\n\n`);
  process.stdout.write('| backend | refs | direct ms | cold ms | cold ×direct | expired ms | expired ×direct | warm ms | warm ×cold | calls direct | calls cold | calls expired | calls warm |\n');
  process.stdout.write('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n');
  process.stdout.write(`${rows.join('\n')}\n`);
}

await main();
