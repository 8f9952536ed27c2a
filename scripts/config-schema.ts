/**
 * The third step of `npm run build`: dist/mcpd.schema.json, the config's JSON Schema, generated
 * from the zod schema (daemon/config/schema.ts) so that it cannot drift from what the loader
 * accepts, and written at build time so the installed command needs no generator. `mcpd config
 * schema` prints it; a config's `"$schema"` key points an editor at it.
 *
 * It describes the shape: keys, types, enums, patterns and defaults. What zod checks in code —
 * durations, policy globs, scopes, loopback hosts, cron expressions, references — is left to
 * `mcpd config check`, and the schema's description says so.
 *
 *   node dist/scripts/config-schema.js
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ignoreOverride, parseDef, zodToJsonSchema } from 'zod-to-json-schema';
import { configSchema, localServerSchema, providerSchema, providerSchemas, remoteServerSchema, serverSchema } from '../daemon/config/schema.js';
import { shownAs } from '../daemon/config/shapes.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
/** Where cli/commands/config.ts reads it from. */
export const schemaFile = join(root, 'dist', 'mcpd.schema.json');

const DESCRIPTION = 'mcpd\'s config file (`mcpd config path`). This schema gives its shape; `mcpd config check` also checks durations, policy globs, scopes, cron expressions and references, and that a client has a scope or a role.';

/**
 * providerSchema reads `type` first and then that type's settings, in a transform a JSON Schema
 * cannot show; the same settings as a union on `type` can be shown, so the schema shows that.
 */
const providerShape = z.discriminatedUnion('type', Object.values(providerSchemas) as unknown as [typeof providerSchemas.env, ...Array<typeof providerSchemas.env>]);

/** serverSchema picks the command or the url shape in a transform too; shown as the union of the two, as every value daemon/config/shapes.ts picks a shape for is. */
const serverShape = z.union([localServerSchema, remoteServerSchema]);

/** The config's JSON Schema (draft-07, which editors read best), every subschema inlined. */
export function configJsonSchema(): object {
  const schema = zodToJsonSchema(configSchema, {
    target: 'jsonSchema7',
    $refStrategy: 'none',
    // A refinement is checked by zod alone: the schema holds what it refines (a string).
    effectStrategy: 'input',
    override: (def, refs) => {
      const shown = def === providerSchema._def ? providerShape : def === serverSchema._def ? serverShape : shownAs.get(def);
      return shown ? parseDef(shown._def, refs) : ignoreOverride;
    },
  });
  const { $schema, ...rest } = schema as { $schema?: string };
  return { $schema, title: 'mcpd config', description: DESCRIPTION, ...rest };
}

await writeFile(schemaFile, `${JSON.stringify(configJsonSchema(), null, 2)}\n`);
