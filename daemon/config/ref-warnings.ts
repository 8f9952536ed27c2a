/**
 * References that parse but may not say what their author meant, for `mcpd config check`:
 * `${vault:-x}` is the environment variable `vault` with a default, not the provider `vault`
 * asked for `-x`, because a name before `:-` reads as a variable wherever it can be one.
 */
import { refsOf } from '../../providers/reference.js';
import { builtinProviders } from '../../providers/registry.js';
import { strings } from './load.js';
import { type Config, isRemote } from './schema.js';

/** A warning, starting with its JSON path, for each `${NAME:-default}` whose NAME is also a provider's name. */
export function referenceWarnings(config: Config): string[] {
  const providers = new Set([...Object.keys(builtinProviders), ...Object.keys(config.providers)]);
  const warnings: string[] = [];
  for (const [where, text] of valuesOf(config)) {
    for (const ref of refsOf(text, where)) {
      if (ref.provider !== 'env' || ref.fallback === undefined || !providers.has(ref.path)) continue;
      // The default is not quoted: it may be a literal secret.
      warnings.push(`${where}: \${${ref.path}:-…} reads as the environment variable ${ref.path} with a default, not as a reference to provider "${ref.path}"; for the provider, write \${${ref.path}:PATH} (a path cannot begin with "-")`);
    }
  }
  return warnings;
}

/** Every string of the config that may hold references, with its JSON path. */
function valuesOf(config: Config): Array<[string, string]> {
  const values: Array<[string, string]> = [];
  for (const [name, server] of Object.entries(config.mcpServers)) {
    const base = `mcpServers.${name}`;
    if (isRemote(server)) {
      values.push([`${base}.url`, server.url], ...Object.entries(server.headers).map(([key, value]): [string, string] => [`${base}.headers.${key}`, value]));
      continue;
    }
    values.push([`${base}.command`, server.command], ...server.args.map((arg, i): [string, string] => [`${base}.args[${i}]`, arg]));
    if (server.cwd !== undefined) values.push([`${base}.cwd`, server.cwd]);
    values.push(...Object.entries(server.env).map(([key, value]): [string, string] => [`${base}.env.${key}`, value]));
  }
  for (const [name, settings] of Object.entries(config.providers)) values.push(...strings(settings, `providers.${name}`));
  return values;
}
