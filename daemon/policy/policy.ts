/**
 * Tool, prompt and resource policy per server (README "Tool policy" and "Audit log"): pure functions
 * over JSON-RPC messages. `allow` and `deny` are glob lists (picomatch; deny wins); a tool is
 * matched by name, a prompt by name, a resource by its URI or name (a template by its
 * uriTemplate or name), a URI in its canonical form (uri.ts). `tools.readOnly` also hides
 * every tool not annotated `readOnlyHint`.
 */
import picomatch from 'picomatch';
import type { ServerConfig } from '../config/schema.js';
import { canonicalUri, uriProblem, withoutQuery } from './uri.js';
import { own } from '../../core/own.js';

export type Kind = 'tools' | 'prompts' | 'resources';

interface Rules {
  readonly where: string;
  readonly allow: readonly string[] | undefined;
  readonly deny: readonly string[];
  readonly allowMatch: ((name: string) => boolean) | undefined;
  readonly denyMatch: (name: string) => boolean;
}

export interface Policy {
  readonly tools: Rules & { readonly readOnly: boolean };
  readonly prompts: Rules;
  readonly resources: Rules;
}

/** Why a name is hidden: the config path of the rule and the pattern that matched, if one did (or why no rule could judge it). */
export interface Denial {
  readonly kind: Kind;
  readonly name: string;
  readonly rule: string;
  readonly pattern?: string;
  readonly reason?: string;
}

export const GLOB_OPTIONS: picomatch.PicomatchOptions = { dot: true, nonegate: true };

function rules(where: string, list: { allow?: string[] | undefined; deny?: string[] | undefined } | undefined): Rules {
  const allow = list?.allow;
  const deny = list?.deny ?? [];
  return {
    where,
    allow,
    deny,
    allowMatch: allow === undefined ? undefined : picomatch([...allow], GLOB_OPTIONS),
    denyMatch: deny.length ? picomatch([...deny], GLOB_OPTIONS) : () => false,
  };
}

/** The policy of one server; `where` is its JSON path (`mcpServers.github`). */
export function compilePolicy(server: Pick<ServerConfig, 'tools' | 'prompts' | 'resources'>, where: string): Policy {
  return {
    tools: { ...rules(`${where}.tools`, server.tools), readOnly: server.tools?.readOnly === true },
    prompts: rules(`${where}.prompts`, server.prompts),
    resources: rules(`${where}.resources`, server.resources),
  };
}

/** Whether a policy hides nothing at all (the bridge then skips it). */
export function isOpen(policy: Policy): boolean {
  return [policy.tools, policy.prompts, policy.resources].every((r) => r.allow === undefined && r.deny.length === 0) && !policy.tools.readOnly;
}

/**
 * The denial for one of the names an item goes by, or undefined when the policy lets it through:
 * any of `names` may match a deny, one of `allowNames` must match an allow list.
 */
export function judge(policy: Policy, kind: Kind, names: readonly string[], allowNames: readonly string[] = names): Denial | undefined {
  const r = policy[kind];
  const name = names[0] ?? '';
  for (const candidate of names) {
    if (r.denyMatch(candidate)) return { kind, name, rule: `${r.where}.deny`, pattern: r.deny.find((p) => picomatch.isMatch(candidate, p, GLOB_OPTIONS)) };
  }
  if (r.allowMatch && !allowNames.some((candidate) => r.allowMatch!(candidate))) return { kind, name, rule: `${r.where}.allow` };
  return undefined;
}

/**
 * A resource URI is judged by its canonical form (uri.ts), and denied by its raw text or its
 * path alone (without query and fragment) too; one that cannot be canonicalised safely is
 * refused when any resource rule is set.
 */
function judgeUri(policy: Policy, uri: string, otherNames: readonly string[] = []): Denial | undefined {
  const canonical = canonicalUri(uri);
  const r = policy.resources;
  const problem = uriProblem(canonical);
  if (problem && (r.allow !== undefined || r.deny.length > 0)) return { kind: 'resources', name: uri, rule: r.where, reason: problem };
  const path = withoutQuery(canonical);
  return judge(policy, 'resources', [uri, canonical, ...(path === undefined ? [] : [path]), ...otherNames], [canonical, ...otherNames]);
}

/** Whether the policy hides a listed item, by the names it goes by. */
function hides(policy: Policy, kind: Kind, item: Record<string, unknown>): boolean {
  if (kind !== 'resources') return judge(policy, kind, typeof item.name === 'string' ? [item.name] : []) !== undefined;
  const others = [item.uriTemplate, item.name].filter((v): v is string => typeof v === 'string');
  return (typeof item.uri === 'string' ? judgeUri(policy, item.uri, others) : judge(policy, kind, others)) !== undefined;
}

const LIST_KEY: Record<string, { kind: Kind; key: string }> = {
  'tools/list': { kind: 'tools', key: 'tools' },
  'prompts/list': { kind: 'prompts', key: 'prompts' },
  'resources/list': { kind: 'resources', key: 'resources' },
  'resources/templates/list': { kind: 'resources', key: 'resourceTemplates' },
};

/** Whether `method` is a list request whose result the policy filters. */
export function isListMethod(method: string): boolean {
  return Object.hasOwn(LIST_KEY, method);
}

/** A list result with the hidden items removed; `readOnly` gets the names of listed read-only tools. */
export function filterList(policy: Policy, method: string, result: unknown, readOnly?: Set<string>): { result: unknown; hidden: number } {
  const spec = own(LIST_KEY, method);
  if (!spec || typeof result !== 'object' || result === null) return { result, hidden: 0 };
  const items = (result as Record<string, unknown>)[spec.key];
  if (!Array.isArray(items)) return { result, hidden: 0 };
  const kept = items.filter((item: Record<string, unknown>) => {
    if (typeof item !== 'object' || item === null) return false;
    if (hides(policy, spec.kind, item)) return false;
    if (spec.kind !== 'tools') return true;
    const hint = (item.annotations as { readOnlyHint?: unknown } | undefined)?.readOnlyHint === true;
    if (hint && typeof item.name === 'string') readOnly?.add(item.name);
    return !policy.tools.readOnly || hint;
  });
  return { result: { ...result, [spec.key]: kept }, hidden: items.length - kept.length };
}

const CALL_TARGET: Record<string, { kind: Kind; param: string }> = {
  'tools/call': { kind: 'tools', param: 'name' },
  'prompts/get': { kind: 'prompts', param: 'name' },
  'resources/read': { kind: 'resources', param: 'uri' },
  'resources/subscribe': { kind: 'resources', param: 'uri' },
};

/** The denial of a client request, or undefined when it may reach the server. */
export function deniedRequest(policy: Policy, method: string, params: unknown, readOnly: ReadonlySet<string>): Denial | undefined {
  if (method === 'completion/complete') return deniedCompletion(policy, params);
  const target = own(CALL_TARGET, method);
  if (!target) return undefined;
  const value = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[target.param] : undefined;
  const name = typeof value === 'string' ? value : '';
  const denial = target.kind === 'resources' ? judgeUri(policy, name) : judge(policy, target.kind, [name]);
  if (denial) return denial;
  if (target.kind === 'tools' && policy.tools.readOnly && !readOnly.has(name)) return { kind: 'tools', name, rule: `${policy.tools.where}.readOnly` };
  return undefined;
}

/**
 * A completion names a prompt (`ref/prompt`, by name) or a resource template (`ref/resource`, by
 * its uriTemplate): its answer would reveal arguments of a hidden one, so it is judged as the
 * list filter judges that prompt or template. Any other ref is left to the server.
 */
function deniedCompletion(policy: Policy, params: unknown): Denial | undefined {
  const ref = typeof params === 'object' && params !== null ? (params as { ref?: unknown }).ref : undefined;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const { type, name, uri } = ref as { type?: unknown; name?: unknown; uri?: unknown };
  if (type === 'ref/prompt') return judge(policy, 'prompts', [typeof name === 'string' ? name : '']);
  if (type === 'ref/resource') return judge(policy, 'resources', [typeof uri === 'string' ? uri : '']);
  return undefined;
}

const SINGULAR: Record<Kind, string> = { tools: 'tool', prompts: 'prompt', resources: 'resource' };

/** mcpd's JSON-RPC error for a denied request. */
export function denialError(id: string | number | null, denial: Denial): string {
  const why = denial.reason !== undefined ? `${denial.reason}, so ${denial.rule} cannot judge it`
    : denial.rule.endsWith('.readOnly') ? 'is not annotated readOnlyHint and the server is read-only'
    : denial.pattern === undefined ? `is not in ${denial.rule}` : `matches "${denial.pattern}" in ${denial.rule}`;
  const message = `mcpd policy: ${SINGULAR[denial.kind]} "${denial.name}" is denied: it ${why}; the request was not passed to the server`;
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: POLICY_ERROR, message, data: { code: 'POLICY_DENIED', rule: denial.rule, ...(denial.pattern ? { pattern: denial.pattern } : {}) } } });
}

/** The JSON-RPC error code of a policy denial (implementation-defined server error range). */
export const POLICY_ERROR = -32003;
