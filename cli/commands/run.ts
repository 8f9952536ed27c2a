/**
 * `mcpd run NAME` and `mcpd run -e KEY=${ref} -- COMMAND ARGS…`: resolve every reference, then
 * start the server with a clean environment and its stdio wired to ours. Nothing is spawned
 * until every reference has resolved.
 *
 * This is the in-process path: `--no-daemon` and ad-hoc commands, with the server's stdio wired
 * straight to ours. `mcpd run NAME` asks the daemon instead (run-session.ts).
 */
import { McpdError } from '../../core/errors.js';
import { isOwnCredential, ownCredentialRefused } from '../../core/own-credentials.js';
import { isRemote, type LocalServerConfig, type ServerConfig } from '../../daemon/config/schema.js';
import { runForeground } from '../../daemon/launcher/foreground.js';
import { type LaunchSource, type PreparedLaunch, prepareLaunch } from '../../daemon/launcher/launch-spec.js';
import { refsOf } from '../../providers/reference.js';
import type { ProviderRegistry } from '../../providers/registry.js';
import { unknownProvider } from '../../providers/registry.js';
import { noter, openConfig, openRegistry } from '../context.js';
import { type RunOptions, serverName } from './run-target.js';
import { own } from '../../core/own.js';


export async function run(options: RunOptions): Promise<void> {
  const loaded = await openConfig(options, !options.adhoc);
  const remote = options.adhoc ? undefined : own(loaded.config.mcpServers, serverName(options));
  if (remote && isRemote(remote)) {
    refuseUnenforcedPolicy(serverName(options), remote);
    if (options.env.length > 0) throw new McpdError('USAGE', `mcpd run --no-daemon ${serverName(options)} -e …: "${serverName(options)}" is a url server, which has no environment`, { hint: 'put credentials in its "headers" in the config' });
    const { runRemote } = await import('./run-remote.js');
    process.exit(await runRemote(serverName(options), remote, loaded, options));
  }
  const registry = openRegistry(loaded, options);
  let spec: PreparedLaunch;
  try {
    spec = await prepareLaunch(pickServer(options, loaded.config.mcpServers, registry), registry, process.env, noter(options));
  } catch (error) {
    await registry.close();
    throw error;
  }
  // Backends are not needed once the values are in hand (the server may run for hours), unless
  // a value is leased: then its lease is renewed while the server runs and revoked after.
  if (spec.leases.length === 0) await registry.close();
  const leases = spec.leases.length ? await keepLeases(spec, registry, options) : undefined;
  const exitCode = await runForeground(spec, { stderr: process.stderr });
  await leases?.revokeAll();
  await registry.close();
  // The server is gone and its group reaped; nothing of ours should keep the process alive.
  process.exit(exitCode);
}

/** Without a daemon nothing can roll the server onto fresh values: a lease that will end is said, once. */
async function keepLeases(spec: PreparedLaunch, registry: ProviderRegistry, options: RunOptions) {
  const { LeaseKeeper } = await import('../../daemon/supervisor/leases.js');
  const { systemClock } = await import('../../core/clock.js');
  return new LeaseKeeper(spec.leases, {
    clock: systemClock,
    random: Math.random,
    providerOf: (name) => registry.get(name),
    note: noter(options),
    ending: (ref, at, why) => process.stderr.write(`mcpd: warning: the lease of ${ref} ends at ${new Date(at).toISOString()} (${why}); restart the server before then, or run it through the daemon, which does\n`),
  });
}

function pickServer(options: RunOptions, servers: Record<string, ServerConfig>, registry: ProviderRegistry): LaunchSource {
  const overrides = parseEnvFlags(options.env, registry);
  if (options.adhoc) {
    const [command, ...args] = options.target;
    if (!command) throw new McpdError('USAGE', 'mcpd run: no command after --', { hint: "mcpd run -e TOKEN='${secret:x}' -- COMMAND ARGS…" });
    const server: LocalServerConfig = { command, args, env: overrides, inheritEnv: false, optional: [], rollover: false, warm: 0 };
    return { name: command, server, where: '-e' };
  }
  const name = serverName(options);
  const server = own(servers, name);
  if (!server) {
    const known = Object.keys(servers).sort();
    throw new McpdError('SERVER_UNKNOWN', `no server named "${name}" in the config; known servers: ${known.length ? known.join(', ') : '(none)'}`, {
      hint: `add "${name}" under "mcpServers" in the config (mcpd config path shows where it is)`,
    });
  }
  refuseUnenforcedPolicy(name, server);
  if (isRemote(server)) throw new McpdError('INTERNAL', `server "${name}" is a url server`);
  return { name, server: { ...server, env: { ...server.env, ...overrides } }, where: `mcpServers.${name}` };
}

/**
 * Without the daemon the server's stdio is ours, handed over, and no gate reads its messages: a
 * policy would not apply. The run is refused, before anything resolves, rather than run open.
 */
function refuseUnenforcedPolicy(name: string, server: ServerConfig): void {
  const set = (['tools', 'prompts', 'resources'] as const).flatMap((kind) => {
    const rules: { allow?: unknown; deny?: unknown[]; readOnly?: unknown } | undefined = server[kind];
    return [rules?.allow !== undefined && 'allow', (rules?.deny?.length ?? 0) > 0 && 'deny', rules?.readOnly === true && 'readOnly']
      .filter((key): key is string => typeof key === 'string')
      .map((key) => `mcpServers.${name}.${kind}.${key}`);
  });
  if (set.length === 0) return;
  throw new McpdError('USAGE', `mcpd run --no-daemon ${name}: the server has a policy (${set.join(', ')}) that only the daemon applies; without it the policy would be skipped, so the server was not started`, {
    hint: `run it through the daemon: mcpd run ${name} (without --no-daemon)`,
  });
}

/** `-e KEY=VALUE` flags; the value may hold references, checked here before anything resolves. */
function parseEnvFlags(flags: readonly string[], registry: ProviderRegistry): Record<string, string> {
  const env: Record<string, string> = {};
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    const key = eq === -1 ? flag : flag.slice(0, eq);
    if (eq === -1 || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new McpdError('USAGE', `-e ${key.slice(0, 40)}: expected KEY=VALUE with KEY a variable name`, { hint: "quote the value so your shell leaves the reference alone: -e TOKEN='${secret:github/pat}'" });
    }
    const value = flag.slice(eq + 1);
    for (const ref of refsOf(value, `-e ${key}`)) {
      if (!registry.has(ref.provider)) throw unknownProvider(ref.provider, registry.names(), `-e ${key}`);
      if (registry.configOf(ref.provider).type === 'env' && isOwnCredential(ref.path)) throw ownCredentialRefused(ref.path, `-e ${key}`, `\${${ref.raw}}`, 'USAGE');
    }
    env[key] = value;
  }
  return env;
}
