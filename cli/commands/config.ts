/**
 * `mcpd config path` and `mcpd config check`: where the config is, and whether it is valid —
 * syntax, keys, references and provider names — without asking any backend for a secret.
 */
import { existsSync } from 'node:fs';
import { referenceWarnings } from '../../daemon/config/ref-warnings.js';
import { configWarnings } from '../../daemon/policy/check.js';
import { refsOf } from '../../providers/reference.js';
import { type GlobalOptions, openConfig, output, resolveConfigPath } from '../context.js';

export async function path(options: GlobalOptions): Promise<void> {
  const file = resolveConfigPath(options);
  output(options, { path: file, exists: existsSync(file) }, () => file);
}

export async function check(options: GlobalOptions): Promise<void> {
  const { path: file, config } = await openConfig(options, true);
  const servers = Object.entries(config.mcpServers).map(([name, server]) => ({
    name,
    command: server.command,
    references: Object.entries(server.env).flatMap(([key, value]) => refsOf(value, `mcpServers.${name}.env.${key}`).map((r) => `\${${r.raw}}`)),
  }));
  const warnings = [...referenceWarnings(config), ...configWarnings(config)];
  output(options, { path: file, ok: true, servers, providers: Object.keys(config.providers), warnings }, () => {
    const lines = servers.map((s) => `  ${s.name}: ${s.command}${s.references.length ? ` — ${s.references.join(', ')}` : ''}`);
    return [`${file}: ok, ${servers.length} server(s), ${Object.keys(config.providers).length} configured provider(s)`, ...lines, ...warnings.map((w) => `warning: ${w}`)].join('\n');
  });
}
