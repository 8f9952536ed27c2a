/**
 * `mcpd config path`, `check` and `schema`: where the config is, whether it is valid — syntax,
 * keys, references and provider names — without asking any backend for a secret, and the JSON
 * Schema an editor checks it with.
 */
import { existsSync } from 'node:fs';
import { referenceWarnings } from '../../daemon/config/ref-warnings.js';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { McpdError } from '../../core/errors.js';
import { configWarnings } from '../../daemon/policy/check.js';
import { isRemote } from '../../daemon/config/schema.js';
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
    command: isRemote(server) ? server.url : server.command,
    references: Object.entries(isRemote(server) ? server.headers : server.env).flatMap(([key, value]) => refsOf(value, `mcpServers.${name}.${key}`).map((r) => `\${${r.raw}}`)),
  }));
  const warnings = [...referenceWarnings(config), ...configWarnings(config)];
  output(options, { path: file, ok: true, servers, providers: Object.keys(config.providers), warnings }, () => {
    const lines = servers.map((s) => `  ${s.name}: ${s.command}${s.references.length ? ` — ${s.references.join(', ')}` : ''}`);
    return [`${file}: ok, ${servers.length} server(s), ${Object.keys(config.providers).length} configured provider(s)`, ...lines, ...warnings.map((w) => `warning: ${w}`)].join('\n');
  });
}

/** Written by the build (scripts/config-schema.ts) beside dist/cli. */
const schemaFile = fileURLToPath(new URL('../../mcpd.schema.json', import.meta.url));

/** Prints the config's JSON Schema, for an editor to check the file against. */
export async function schema(): Promise<void> {
  let text: string;
  try {
    text = await readFile(schemaFile, 'utf8');
  } catch (error) {
    throw new McpdError('INTERNAL', `the config's JSON Schema ${schemaFile} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})`, {
      hint: 'reinstall mcpd (its package ships the file), or run npm run build in a checkout',
      cause: error,
    });
  }
  process.stdout.write(text);
}
