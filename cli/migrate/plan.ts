/**
 * What `mcpd migrate` does with each server of a host app's config, decided before anything is
 * written: move it into mcpd's config, with every literal secret of its environment (or, for a
 * remote server, of its headers: remote-plan.ts) moved into the default store and replaced by a
 * reference, or leave it as it is and say why. Pure: no file is read or written here.
 */
import { isDeepStrictEqual } from 'node:util';
import { judge, SECRET_SHAPES } from './detect.js';
import { own } from '../../core/own.js';
import { isRemoteEntry, planRemote, type RemoteDefinition, remoteWithDefaults } from './remote-plan.js';

/** A secret found in a server's environment; `value` is stored, never printed. */
export interface SecretMove {
  readonly variable: string;
  /** Where it goes, as a reference without `${}`: `secret:github/GITHUB_PERSONAL_ACCESS_TOKEN`. */
  readonly ref: string;
  readonly value: string;
  /** Set once the store was asked: it already holds this very value, so it is not stored again. */
  readonly stored?: boolean;
}

/** A literal of a server's environment left as written in mcpd's config, and why it is not taken for a secret. */
export interface KeptLiteral {
  readonly variable: string;
  readonly why: string;
}

export interface Definition {
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export type ServerPlan =
  | { readonly name: string; readonly action: 'migrate'; readonly definition: Definition | RemoteDefinition; readonly secrets: readonly SecretMove[]; readonly kept: readonly KeptLiteral[]; readonly alreadyInMcpd: boolean }
  | { readonly name: string; readonly action: 'skip'; readonly reason: string };

const SECRET_FLAG = /^--?[\w-]*(token|key|secret|password|passwd)[\w-]*$/i;
const MCPD_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** Whether an environment variable holds a secret: by its value's shape or its name (detect.ts). */
export function looksSecret(variable: string, value: string): boolean {
  return judge(variable, value).secret;
}

/** Plans every entry of a host's server table; `existing` is mcpd's own `mcpServers` (as written in its file). */
export function planServers(entries: Record<string, unknown>, existing: Record<string, unknown>): ServerPlan[] {
  return Object.entries(entries).map(([name, entry]) => planServer(name, entry, own(existing, name)));
}

function planServer(name: string, entry: unknown, existing: unknown): ServerPlan {
  const skip = (reason: string): ServerPlan => ({ name, action: 'skip', reason });
  if (!MCPD_NAME.test(name)) return skip('its name is not one mcpd takes (letters, digits, _ . -): rename it in the host\'s config, then migrate again');
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return skip('it is not a server definition (an object)');
  const server = entry as Record<string, unknown>;
  if (isRemoteEntry(server)) {
    const remote = planRemote(name, server);
    if ('skip' in remote) return skip(remote.skip);
    if (existing !== undefined && !isDeepStrictEqual(typeof existing === 'object' && existing !== null ? remoteWithDefaults(existing as Record<string, unknown>) : existing, remote.definition)) {
      return skip(differs(name));
    }
    return { name, action: 'migrate', ...remote, alreadyInMcpd: existing !== undefined };
  }
  const { command, args = [], env = {}, cwd } = server;
  if (typeof command !== 'string' || command === '') return skip('it has no "command"');
  if (command === 'mcpd' && Array.isArray(args) && args[0] === 'run') return skip('it already runs through mcpd');
  if (!isStrings(args)) return skip('its "args" is not a list of strings');
  if (typeof env !== 'object' || env === null || Array.isArray(env) || !Object.values(env).every((v) => typeof v === 'string')) return skip('its "env" is not an object of strings');
  if (cwd !== undefined && typeof cwd !== 'string') return skip('its "cwd" is not a string');
  const texts: Array<[string, string]> = [['command', command], ...args.map((a, i): [string, string] => [`args[${i}]`, a]), ...Object.entries(env as Record<string, string>).map(([k, v]): [string, string] => [`env.${k}`, v]), ...(cwd ? [['cwd', cwd] as [string, string]] : [])];
  const variable = texts.find(([, text]) => text.includes('${'));
  if (variable) return skip(`its ${variable[0]} uses one of the host app's own variables (\${…}), which mcpd cannot know: move it by hand`);
  const secretArg = args.findIndex((arg, i) => SECRET_SHAPES.test(arg) || /^--?[\w-]*(token|key|secret|password)[\w-]*=./i.test(arg) || (i > 0 && SECRET_FLAG.test(args[i - 1]!)));
  if (secretArg !== -1) {
    return skip(`args[${secretArg}] looks like a secret, and mcpd puts secrets only in a server's environment, never its argv: if the server reads it from an environment variable, pass it that way, then migrate again`);
  }
  const secrets: SecretMove[] = [];
  const kept: KeptLiteral[] = [];
  const newEnv: Record<string, string> = {};
  for (const [key, value] of Object.entries(env as Record<string, string>)) {
    const verdict = judge(key, value);
    if (!verdict.secret) {
      newEnv[key] = literal(value);
      kept.push({ variable: key, why: verdict.why });
      continue;
    }
    const ref = `secret:${name}/${key}`;
    secrets.push({ variable: key, ref, value });
    newEnv[key] = `\${${ref}}`;
  }
  const definition: Definition = { command: literal(command), args: args.map(literal), env: newEnv, ...(cwd ? { cwd: literal(cwd) } : {}) };
  if (existing !== undefined && !isDeepStrictEqual(withDefaults(existing), definition)) {
    return skip(differs(name));
  }
  return { name, action: 'migrate', definition, secrets, kept, alreadyInMcpd: existing !== undefined };
}

function differs(name: string): string {
  return `mcpd's config already has a server named "${name}" that differs: rename one of them, then migrate again`;
}

/** A host's literal as mcpd reads it back unchanged: `$` is mcpd's reference character. */
function literal(text: string): string {
  return text.replaceAll('$', '$$$$');
}

function isStrings(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === 'string');
}

/** An mcpd definition as written, with the defaults a migrated one spells out. */
function withDefaults(existing: unknown): unknown {
  if (typeof existing !== 'object' || existing === null) return existing;
  const { args = [], env = {}, ...rest } = existing as Record<string, unknown>;
  return { ...rest, args, env };
}
