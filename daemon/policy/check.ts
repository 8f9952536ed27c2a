/**
 * Config checks for policy and clients: a glob that can never match is an error (the schema
 * asks `globProblem`); an allow list that hides everything, an allow entry a deny entry always
 * beats, a resource URI pattern not in canonical form, or a client scope naming no configured
 * server are warnings, each with its JSON path.
 */
import picomatch from 'picomatch';
import type { Config } from '../config/schema.js';
import { GLOB_OPTIONS, type Kind } from './policy.js';
import { canonicalUri } from './uri.js';

const MATCH_ALL = new Set(['*', '**', '**/*', '*/**']);

/** Why a policy glob can never match (or is not supported), or undefined when it is fine. */
export function globProblem(text: string): string | undefined {
  if (text === '') return 'an empty pattern can never match: remove it';
  if (/[\s\p{Cc}]/u.test(text)) return `"${text}" holds whitespace or a control character, which no tool, prompt or resource name holds: it can never match`;
  if (text.startsWith('!')) return `"${text}": negated patterns are not supported; put what to hide in "deny" and what to keep in "allow"`;
  try {
    picomatch.makeRe(text, GLOB_OPTIONS);
  } catch {
    return `"${text}" is not a valid glob`;
  }
  return undefined;
}

/** Warnings about a valid config, each starting with its JSON path. */
export function configWarnings(config: Config): string[] {
  const warnings: string[] = [];
  for (const [name, server] of Object.entries(config.mcpServers)) {
    for (const kind of ['tools', 'prompts', 'resources'] as const) {
      warnings.push(...ruleWarnings(`mcpServers.${name}.${kind}`, kind, server[kind]));
    }
    warnings.push(...uriPatternWarnings(`mcpServers.${name}.resources`, server.resources));
  }
  for (const [name, client] of Object.entries(config.clients)) {
    client.scopes.forEach((scope, i) => {
      const server = scope.startsWith('launch:') ? scope.slice('launch:'.length) : undefined;
      if (server && server !== '*' && !Object.hasOwn(config.mcpServers, server)) warnings.push(`clients.${name}.scopes[${i}]: ${scope} names no server in mcpServers`);
    });
  }
  return warnings;
}

function ruleWarnings(where: string, kind: Kind, rules: { allow?: string[] | undefined; deny?: string[] | undefined } | undefined): string[] {
  const allow = rules?.allow;
  const deny = rules?.deny ?? [];
  const everything = deny.find((p) => MATCH_ALL.has(p));
  if (everything !== undefined) return [`${where}.deny: "${everything}" hides every ${kind.slice(0, -1)} of this server`];
  if (allow === undefined) return [];
  if (allow.length === 0) return [`${where}.allow: an empty allow list hides every ${kind.slice(0, -1)} of this server`];
  const denied = deny.length ? picomatch(deny, GLOB_OPTIONS) : () => false;
  // A literal allow entry that a deny glob matches, or one repeated in deny, never lets anything through.
  const dead = allow.map((p, i) => ({ p, i })).filter(({ p }) => deny.includes(p) || (!picomatch.scan(p).isGlob && denied(p)));
  const out = dead.map(({ p, i }) => `${where}.allow[${i}]: "${p}" is also denied (deny wins), so it never lets anything through`);
  if (dead.length === allow.length) out.push(`${where}.allow: every entry is denied, so the allow list hides every ${kind.slice(0, -1)} of this server`);
  return out;
}

/** A resource URI pattern not in canonical form (uri.ts) never matches the canonical URIs an allow list is compared with. */
function uriPatternWarnings(where: string, rules: { allow?: string[] | undefined; deny?: string[] | undefined } | undefined): string[] {
  const out: string[] = [];
  for (const key of ['allow', 'deny'] as const) {
    rules?.[key]?.forEach((pattern, i) => {
      // Braces are glob syntax the URL parser would escape.
      if (!URI_SCHEME.test(pattern) || /[{}]/.test(pattern)) return;
      const canonical = canonicalUri(pattern);
      if (canonical !== pattern) out.push(`${where}.${key}[${i}]: "${pattern}" is not a canonical URI, and resource URIs are matched in canonical form: write it "${canonical}"`);
    });
  }
  return out;
}

const URI_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
