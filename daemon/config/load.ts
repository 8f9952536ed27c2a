/**
 * Reads and validates the config file. Every error names the file, the JSON path and the fix;
 * a JSON syntax error gives line and column. References are checked here, before any backend
 * is asked, so a typo is a config error (exit 2), not a failed launch.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type * as Jsonc from 'jsonc-parser';
import type { ZodIssue } from 'zod';
import { McpdError } from '../../core/errors.js';
import { isOwnCredential, ownCredentialRefused } from '../../core/own-credentials.js';
import type { Ref } from '../../providers/provider.js';
import { optionLikePath, parseRefBody, refsOf } from '../../providers/reference.js';
import { builtinProviders, unknownProvider } from '../../providers/registry.js';
import { isDuration } from '../../core/duration.js';
import { type Config, configSchema, emptyConfig, isRemote, type LocalServerConfig, type RemoteServerConfig, type ServerConfig } from './schema.js';
import { own } from '../../core/own.js';
import { checkListeners } from './listen-checks.js';

export interface LoadedConfig {
  readonly path: string;
  /** False when no file exists and none was required: the built-in defaults apply. */
  readonly exists: boolean;
  readonly config: Config;
}

/** Loads `path`; a missing file is an error only when `required`. */
export async function loadConfig(path: string, options: { required: boolean }): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT' && !options.required) {
      return { path, exists: false, config: emptyConfig };
    }
    throw unreadable(path, error as NodeJS.ErrnoException);
  }
  return { path, exists: true, config: parseConfig(text, path) };
}

/** Parses config text; `file` names it in errors. */
export function parseConfig(text: string, file: string): Config {
  const json = parseJson(text, file, 'fix the JSON at that line and column (no comments or trailing commas), then run `mcpd config check`');
  const parsed = configSchema.safeParse(json);
  if (!parsed.success) throw invalid(file, parsed.error.issues);
  checkReferences(parsed.data, file);
  checkListeners(parsed.data, file);
  return parsed.data;
}

/**
 * JSON text (`comments`: JSONC, as VS Code and Cursor write their files); a syntax error names
 * the file, line and column, with `hint`.
 */
export function parseJson(text: string, file: string, hint: string, comments = false): unknown {
  if (!comments) {
    try {
      return JSON.parse(text);
    } catch {
      // JSON.parse's message has an offset at best: the parser below finds the first error.
    }
  }
  const { parse: parseJsonc, printParseErrorCode } = requireJsonc();
  const errors: Jsonc.ParseError[] = [];
  const value: unknown = parseJsonc(text, errors, { disallowComments: !comments, allowTrailingComma: comments, allowEmptyContent: false });
  if (comments && errors.length === 0) return value;
  const first = errors[0];
  const offset = first?.offset ?? 0;
  const before = text.slice(0, offset).split('\n');
  const line = before.length;
  const column = (before.at(-1)?.length ?? 0) + 1;
  const what = first ? describeJsonError(printParseErrorCode(first.error)) : 'invalid JSON';
  throw new McpdError('CONFIG_SYNTAX', `${file}:${line}:${column}: ${what}`, { hint });
}

// Loaded only on a syntax error (or for JSONC): it is not needed on the path of a valid config.
export function requireJsonc(): typeof Jsonc {
  return createRequire(import.meta.url)('jsonc-parser') as typeof Jsonc;
}

function describeJsonError(code: string): string {
  const words = code.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return `JSON syntax error: ${words}`;
}

function jsonPath(path: readonly PropertyKey[]): string {
  return path.map((key, i) => (typeof key === 'number' ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join('') || '(top level)';
}

function invalid(file: string, issues: readonly ZodIssue[]): McpdError {
  const lines = issues.map((issue) => {
    if (issue.code === 'unrecognized_keys') {
      const where = jsonPath(issue.path);
      return issue.keys.map((key) => `${where === '(top level)' ? key : `${where}.${key}`}: unknown key "${key}"`).join('\n');
    }
    return `${jsonPath(issue.path)}: ${issue.message.charAt(0).toLowerCase()}${issue.message.slice(1)}`;
  });
  return new McpdError('CONFIG_INVALID', `${file}: invalid config\n${lines.join('\n')}`, {
    hint: 'correct the keys named above (see README "Configuration"), then run `mcpd config check`',
  });
}

/** The type of provider `name` in `config` (a configured one, else a built-in), looked up as an own key. */
function providerType(config: Config, name: string): string | undefined {
  return (own(config.providers, name) ?? own(builtinProviders, name))?.type;
}

/**
 * Every reference must parse and name a known provider. Secrets may go only into `env`:
 * argv is world-readable in `ps` and /proc, so command, args and cwd take environment
 * references (`${HOME}`) and nothing else.
 */
function checkReferences(config: Config, file: string): void {
  const known = [...new Set([...Object.keys(builtinProviders), ...Object.keys(config.providers)])].sort();
  const typeOf = (provider: string) => providerType(config, provider);
  // A path an exec command would take as an option is refused here too, before anything runs.
  const refCheck = (ref: Ref, where: string): McpdError | undefined =>
    !known.includes(ref.provider) ? unknownProvider(ref.provider, known, where) : typeOf(ref.provider) === 'exec' ? optionLikePath(ref, where) : undefined;
  for (const [name, server] of Object.entries(config.mcpServers)) {
    checkServer(name, server, refCheck, file);
    checkOwnCredentials(name, server, (provider) => typeOf(provider) === 'env', file);
  }
  checkProviderSettings(config, refCheck, file);
  checkRotation(config, refCheck, file);
}

/** A cron expression croner accepts; croner is loaded only for a config that has one. */
function checkCron(every: string, where: string, file: string): void {
  const { Cron } = createRequire(import.meta.url)('croner') as typeof import('croner');
  try {
    new Cron(every, { paused: true, timezone: 'UTC' });
  } catch (error) {
    throw new McpdError('CONFIG_INVALID', `${file}: ${where}: "${every}" is not a cron expression (${error instanceof Error ? error.message : String(error)})`, {
      hint: 'use a duration such as "90d", or five cron fields such as "0 3 1 */3 *"',
    });
  }
}

/** Types that can hold a new version of a secret, and the one a `vault` strategy rolls leases of. */
const STORING = new Set(['local', 'keychain', 'secret', 'vault', '1password']);

/** Each `rotation` key is a reference to a stored secret whose provider can do what its strategy needs. */
function checkRotation(config: Config, refCheck: RefCheck, file: string): void {
  const typeOf = (name: string) => providerType(config, name);
  for (const [key, rotation] of Object.entries(config.rotation)) {
    const where = `rotation.${key}`;
    const ref = (() => {
      try {
        return parseRefBody(key, where, 'secret');
      } catch (error) {
        throw error instanceof McpdError ? withFile(error, file) : error;
      }
    })();
    const problem = refCheck(ref, where);
    if (problem) throw withFile(problem, file);
    if (!isDuration(rotation.every)) checkCron(rotation.every, `${where}.every`, file);
    const type = typeOf(ref.provider);
    const fits = rotation.strategy === 'vault' ? type === 'vault' : rotation.strategy === 'remind' || STORING.has(type ?? '');
    if (!fits) {
      const need = rotation.strategy === 'vault' ? 'a Vault provider (the strategy rolls its leases)' : 'a store mcpd can write a new version to';
      throw new McpdError('CONFIG_INVALID', `${file}: ${where}: strategy "${rotation.strategy}" needs ${need}, and "${ref.provider}" is a provider of type ${type ?? 'unknown'}`, {
        hint: rotation.strategy === 'vault' ? 'name the dynamic path as vault:PATH' : 'rotate a secret kept in secret:, local:, keychain:, vault: or op://, or use "strategy": "remind"',
      });
    }
  }
}

/**
 * A provider's settings may hold references (a token kept in the keychain), but never one that
 * leads back to the provider itself, directly or through others: it could never be resolved.
 */
function checkProviderSettings(config: Config, refCheck: RefCheck, file: string): void {
  const uses = new Map<string, Array<{ where: string; ref: string; provider: string }>>();
  for (const [name, settings] of Object.entries(config.providers)) {
    const found: Array<{ where: string; ref: string; provider: string }> = [];
    for (const [where, text] of strings(settings, `providers.${name}`)) {
      for (const ref of refsOf(text, where)) {
        const problem = refCheck(ref, where);
        if (problem) throw withFile(problem, file);
        found.push({ where, ref: ref.raw, provider: ref.provider });
      }
    }
    uses.set(name, found);
  }
  const visit = (name: string, path: string[]): void => {
    for (const use of uses.get(name) ?? []) {
      if (path.includes(use.provider) || use.provider === name) {
        const loop = [...path, name, use.provider].slice(path.indexOf(use.provider) === -1 ? path.length : path.indexOf(use.provider));
        throw new McpdError('CONFIG_INVALID', `${file}: ${use.where}: \${${use.ref}} makes a reference loop (${loop.join(' → ')}): that provider needs itself to start`, {
          hint: 'keep this setting in another store (keychain:, local:, file:) or in an environment variable',
        });
      }
      visit(use.provider, [...path, name]);
    }
  };
  for (const name of uses.keys()) visit(name, []);
}

/** Every string inside a settings object, with its JSON path. */
export function strings(value: unknown, where: string): Array<[string, string]> {
  if (typeof value === 'string') return [[where, value]];
  if (value === null || typeof value !== 'object') return [];
  return Object.entries(value).flatMap(([key, inner]) => strings(inner, Array.isArray(value) ? `${where}[${key}]` : `${where}.${key}`));
}

function withFile(error: McpdError, file: string): McpdError {
  return new McpdError(error.code, `${file}: ${error.message}`, { hint: error.hint });
}

/** Why a reference at `where` cannot be used (an unknown provider, an option-like exec path), if it cannot. */
type RefCheck = (ref: Ref, where: string) => McpdError | undefined;

function checkServer(name: string, server: ServerConfig, refCheck: RefCheck, file: string): void {
  const fail = (error: McpdError) => new McpdError(error.code, `${file}: ${error.message}`, { hint: error.hint });
  try {
    if (isRemote(server)) checkRemote(`mcpServers.${name}`, server, refCheck);
    else checkLocal(`mcpServers.${name}`, server, refCheck);
  } catch (error) {
    throw error instanceof McpdError ? fail(error) : error;
  }
}

function checkRefs(values: Readonly<Record<string, string>>, where: string, refCheck: RefCheck): void {
  for (const [key, value] of Object.entries(values)) {
    for (const ref of refsOf(value, `${where}.${key}`)) {
      const problem = refCheck(ref, `${where}.${key}`);
      if (problem) throw problem;
    }
  }
}

function checkLocal(base: string, server: LocalServerConfig, refCheck: RefCheck): void {
  checkRefs(server.env, `${base}.env`, refCheck);
  const argvLike: Array<[string, string]> = [[`${base}.command`, server.command], ...server.args.map((a, i): [string, string] => [`${base}.args[${i}]`, a])];
  if (server.cwd !== undefined) argvLike.push([`${base}.cwd`, server.cwd]);
  for (const [where, value] of argvLike) {
    const secretRef = refsOf(value, where).find((ref) => ref.provider !== 'env');
    if (secretRef) {
      throw new McpdError('CONFIG_INVALID', `${where}: \${${secretRef.raw}} would put a secret on the command line, where any local user can read it`, {
        hint: `move it into "env" (e.g. "env": {"TOKEN": "\${${secretRef.raw}}"}) and have the server read it from there`,
      });
    }
  }
  for (const variable of server.optional) {
    if (!Object.hasOwn(server.env, variable)) {
      throw new McpdError('CONFIG_INVALID', `${base}.optional: "${variable}" is not a key of ${base}.env`, {
        hint: 'list only variables the server defines in "env"',
      });
    }
  }
}

/** A URL is written to logs, status and the audit log: it takes no reference at all; headers do. */
function checkRemote(base: string, server: RemoteServerConfig, refCheck: RefCheck): void {
  checkRefs(server.headers, `${base}.headers`, refCheck);
  if (server.oauth) {
    const { clientSecret, privateKey } = server.oauth;
    checkRefs({ ...(clientSecret === undefined ? {} : { clientSecret }), ...(privateKey === undefined ? {} : { privateKey }) }, `${base}.oauth`, refCheck);
  }
  const ref = refsOf(server.url, `${base}.url`)[0];
  if (ref) {
    throw new McpdError('CONFIG_INVALID', `${base}.url: \${${ref.raw}} in a URL would be written to logs and status`, {
      hint: `put the credential in a header instead, e.g. "headers": {"Authorization": "Bearer \${${ref.raw}}"}`,
    });
  }
}

/**
 * mcpd's own credentials (core/own-credentials.ts) reach no server: not by name in `inheritEnv`,
 * nor through a `${NAME}` reference anywhere in its definition. Provider settings may use them:
 * that is mcpd's own use.
 */
function checkOwnCredentials(name: string, server: ServerConfig, isEnv: (provider: string) => boolean, file: string): void {
  const base = `mcpServers.${name}`;
  const refuse = (variable: string, where: string, how: string) => ownCredentialRefused(variable, `${file}: ${where}`, how, 'CONFIG_INVALID');
  if (!isRemote(server) && Array.isArray(server.inheritEnv)) {
    server.inheritEnv.forEach((variable, i) => {
      if (isOwnCredential(variable)) throw refuse(variable, `${base}.inheritEnv[${i}]`, `"${variable}"`);
    });
  }
  const texts: Array<[string, string]> = isRemote(server)
    ? Object.entries(server.headers).map(([key, value]): [string, string] => [`${base}.headers.${key}`, value])
    : [
      [`${base}.command`, server.command],
      ...server.args.map((arg, i): [string, string] => [`${base}.args[${i}]`, arg]),
      ...(server.cwd === undefined ? [] : [[`${base}.cwd`, server.cwd] as [string, string]]),
      ...Object.entries(server.env).map(([key, value]): [string, string] => [`${base}.env.${key}`, value]),
    ];
  for (const [where, text] of texts) {
    const ref = refsOf(text, where).find((r) => isEnv(r.provider) && isOwnCredential(r.path));
    if (ref) throw refuse(ref.path, where, `\${${ref.raw}}`);
  }
}

function unreadable(path: string, error: NodeJS.ErrnoException): McpdError {
  if (error.code === 'ENOENT') {
    return new McpdError('CONFIG_NOT_FOUND', `no config file at ${path}`, {
      hint: 'create it with an "mcpServers" block (see README), or point --config / $MCPD_CONFIG at yours',
      cause: error,
    });
  }
  return new McpdError('CONFIG_NOT_FOUND', `cannot read config file ${path}: ${error.code ?? error.message}`, {
    hint: 'check the file exists and is readable by you',
    cause: error,
  });
}
