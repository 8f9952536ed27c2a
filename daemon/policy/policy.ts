/**
 * Tool, prompt and resource policy per server (README "Tool policy" and "Audit log"): pure functions
 * over JSON-RPC messages. `allow` and `deny` are glob lists (picomatch; deny wins); a tool is
 * matched by name, a prompt by name, a resource by its URI or name (a template by its
 * uriTemplate or name), a URI in its canonical form (uri.ts). `tools.readOnly` also hides
 * every tool not annotated `readOnlyHint`. What a request or listed item names is a Target;
 * a Judge decides on one, so a subject's roles (auth/roles.ts) judge exactly what the policy
 * judges, and a request must pass every judge.
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
  /** What the rule says of it, when the rule's path and pattern do not (a role's grants). */
  readonly because?: string;
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
 * What a request or a listed item is judged by: the names a deny may match, the ones an allow
 * must match, and, for a resource URI that cannot be canonicalised safely, why.
 */
export interface Target {
  readonly kind: Kind;
  /** How the denial names it. */
  readonly name: string;
  readonly names: readonly string[];
  readonly allowNames: readonly string[];
  /** Why it cannot be judged: refused by any rules that restrict its kind. */
  readonly problem?: string;
}

/**
 * Judges a target for one set of rules (a server's policy, a subject's roles); `readOnly` says
 * the tool is known to be annotated readOnlyHint. Undefined when the rules let it through.
 */
export type Judge = (target: Target, readOnly: boolean) => Denial | undefined;

function target(kind: Kind, names: readonly string[], allowNames: readonly string[] = names, problem?: string): Target {
  return { kind, name: names[0] ?? '', names, allowNames, ...(problem === undefined ? {} : { problem }) };
}

/**
 * A resource URI is judged by its canonical form (uri.ts), and denied by its raw text or its
 * path alone (without query and fragment) too; one that cannot be canonicalised safely carries
 * its problem, and rules on resources refuse it.
 */
function uriTarget(uri: string, otherNames: readonly string[] = []): Target {
  const canonical = canonicalUri(uri);
  const path = withoutQuery(canonical);
  return target('resources', [uri, canonical, ...(path === undefined ? [] : [path]), ...otherNames], [canonical, ...otherNames], uriProblem(canonical));
}

/** The judge of a server's policy. */
export function policyJudge(policy: Policy): Judge {
  return (t, readOnly) => {
    const r = policy[t.kind];
    if (t.problem !== undefined && (r.allow !== undefined || r.deny.length > 0)) return { kind: t.kind, name: t.name, rule: r.where, reason: t.problem };
    const denial = judge(policy, t.kind, t.names, t.allowNames);
    if (denial) return denial;
    if (t.kind === 'tools' && policy.tools.readOnly && !readOnly) return { kind: 'tools', name: t.name, rule: `${policy.tools.where}.readOnly` };
    return undefined;
  };
}

/** A server's policy alone, or every judge a request must pass (the server's policy and the subject's roles). */
export type Rulebook = Policy | readonly Judge[];

function judgesOf(rules: Rulebook): readonly Judge[] {
  return Array.isArray(rules) ? rules : [policyJudge(rules as Policy)];
}

function firstDenial(judges: readonly Judge[], t: Target, readOnly: boolean): Denial | undefined {
  for (const j of judges) {
    const denial = j(t, readOnly);
    if (denial) return denial;
  }
  return undefined;
}

/** The target of a listed item, by the names it goes by. */
function itemTarget(kind: Kind, item: Record<string, unknown>): Target {
  if (kind !== 'resources') return target(kind, typeof item.name === 'string' ? [item.name] : []);
  const others = [item.uriTemplate, item.name].filter((v): v is string => typeof v === 'string');
  return typeof item.uri === 'string' ? uriTarget(item.uri, others) : target(kind, others);
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
export function filterList(rules: Rulebook, method: string, result: unknown, readOnly?: Set<string>): { result: unknown; hidden: number } {
  const spec = own(LIST_KEY, method);
  if (!spec || typeof result !== 'object' || result === null) return { result, hidden: 0 };
  const items = (result as Record<string, unknown>)[spec.key];
  if (!Array.isArray(items)) return { result, hidden: 0 };
  const judges = judgesOf(rules);
  const kept = items.filter((item: Record<string, unknown>) => {
    if (typeof item !== 'object' || item === null) return false;
    const hint = spec.kind === 'tools' && (item.annotations as { readOnlyHint?: unknown } | undefined)?.readOnlyHint === true;
    const denial = firstDenial(judges, itemTarget(spec.kind, item), hint);
    // Recorded only for tools the client may see: a hidden one is refused by name anyway.
    if (!denial && hint && typeof item.name === 'string') readOnly?.add(item.name);
    return !denial;
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
export function deniedRequest(rules: Rulebook, method: string, params: unknown, readOnly: ReadonlySet<string>): Denial | undefined {
  const t = requestTarget(method, params);
  return t === undefined ? undefined : firstDenial(judgesOf(rules), t, t.kind === 'tools' && readOnly.has(t.name));
}

/** What a client request names, or undefined for a request no rule judges. */
function requestTarget(method: string, params: unknown): Target | undefined {
  if (method === 'completion/complete') return completionTarget(params);
  const spec = own(CALL_TARGET, method);
  if (!spec) return undefined;
  const value = typeof params === 'object' && params !== null ? (params as Record<string, unknown>)[spec.param] : undefined;
  const name = typeof value === 'string' ? value : '';
  return spec.kind === 'resources' ? uriTarget(name) : target(spec.kind, [name]);
}

/**
 * A completion names a prompt (`ref/prompt`, by name) or a resource template (`ref/resource`, by
 * its uriTemplate): its answer would reveal arguments of a hidden one, so it is judged as the
 * list filter judges that prompt or template. Any other ref is left to the server.
 */
function completionTarget(params: unknown): Target | undefined {
  const ref = typeof params === 'object' && params !== null ? (params as { ref?: unknown }).ref : undefined;
  if (typeof ref !== 'object' || ref === null) return undefined;
  const { type, name, uri } = ref as { type?: unknown; name?: unknown; uri?: unknown };
  if (type === 'ref/prompt') return target('prompts', [typeof name === 'string' ? name : '']);
  if (type === 'ref/resource') return target('resources', [typeof uri === 'string' ? uri : '']);
  return undefined;
}

const SINGULAR: Record<Kind, string> = { tools: 'tool', prompts: 'prompt', resources: 'resource' };

/** mcpd's JSON-RPC error for a denied request. */
export function denialError(id: string | number | null, denial: Denial): string {
  const why = denial.because !== undefined ? denial.because
    : denial.reason !== undefined ? `${denial.reason}, so ${denial.rule} cannot judge it`
    : denial.rule.endsWith('.readOnly') ? 'is not annotated readOnlyHint and the server is read-only'
    : denial.pattern === undefined ? `is not in ${denial.rule}` : `matches "${denial.pattern}" in ${denial.rule}`;
  const message = `mcpd policy: ${SINGULAR[denial.kind]} "${denial.name}" is denied: it ${why}; the request was not passed to the server`;
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code: POLICY_ERROR, message, data: { code: 'POLICY_DENIED', rule: denial.rule, ...(denial.pattern ? { pattern: denial.pattern } : {}) } } });
}

/** The JSON-RPC error code of a policy denial (implementation-defined server error range). */
export const POLICY_ERROR = -32003;
