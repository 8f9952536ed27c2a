/**
 * What a subject may do on a server through its roles (README "Roles"): the union of its roles'
 * grants whose `server` glob matches the server, less anything a matching deny names (a deny
 * always wins). A grant without a `tools` (`prompts`, `resources`) list grants all of them;
 * `access: "read"` grants only tools annotated readOnlyHint. A token's `launch:NAME`,
 * `launch:*` or `admin` scope grants all of the server, still less the denies. The rights are a
 * policy Judge (policy/policy.ts): the session's gate asks it beside the server's own policy, on
 * the same targets, so a call must pass both.
 */
import picomatch from 'picomatch';
import type { Config, RoleConfig } from '../config/schema.js';
import { type Denial, GLOB_OPTIONS, type Judge, type Kind, type Target } from '../policy/policy.js';
import { holds, type Principal } from './scopes.js';

const KINDS: readonly Kind[] = ['tools', 'prompts', 'resources'];

/** A compiled glob list and the patterns it was compiled from (to name the one that matched). */
interface Globs {
  readonly patterns: readonly string[];
  readonly match: (name: string) => boolean;
}

export interface Grant {
  readonly where: string;
  readonly server: Globs;
  /** Undefined: every one of that kind. */
  readonly lists: Partial<Record<Kind, Globs>>;
  readonly access: 'read' | 'write';
}

export interface Deny {
  readonly where: string;
  readonly server: Globs;
  readonly lists: Partial<Record<Kind, Globs>>;
  /** No list at all: the whole server. */
  readonly whole: boolean;
}

/** One role, compiled. */
export interface Role {
  readonly grants: readonly Grant[];
  readonly denies: readonly Deny[];
  readonly limits: RoleConfig['limits'];
}

function globs(patterns: readonly string[]): Globs {
  return { patterns, match: patterns.length ? picomatch([...patterns], GLOB_OPTIONS) : () => false };
}

function lists(rule: Partial<Record<Kind, string[] | undefined>>): Partial<Record<Kind, Globs>> {
  const out: Partial<Record<Kind, Globs>> = {};
  for (const kind of KINDS) {
    const list = rule[kind];
    if (list !== undefined) out[kind] = globs(list);
  }
  return out;
}

function compileRole(name: string, role: RoleConfig): Role {
  const where = `roles.${name}`;
  return {
    grants: role.grants.map((g, i) => ({ where: `${where}.grants[${i}]`, server: globs([g.server]), lists: lists(g), access: g.access })),
    denies: role.denies.map((d, i) => ({ where: `${where}.denies[${i}]`, server: globs([d.server]), lists: lists(d), whole: KINDS.every((k) => d[k] === undefined) })),
    limits: role.limits,
  };
}

/** The config's roles, compiled once per config (a reload compiles the new one). */
export class RoleBook {
  readonly #roles = new Map<string, Role>();

  constructor(roles: Config['roles']) {
    for (const [name, role] of Object.entries(roles)) this.#roles.set(name, compileRole(name, role));
  }

  /** The roles `principal` holds that the config defines, by name. */
  held(principal: Principal): Array<[string, Role]> {
    return principal.roles.flatMap((name) => {
      const role = this.#roles.get(name);
      return role ? [[name, role] as [string, Role]] : [];
    });
  }

  /** What `principal` may do on `server`; undefined when nothing restricts it (the owner, or a launch scope with no deny). */
  rightsOn(principal: Principal, server: string): Rights | undefined {
    if (principal.kind === 'owner') return undefined;
    const held = this.held(principal);
    const grants = held.flatMap(([, r]) => r.grants).filter((g) => g.server.match(server));
    const denies = held.flatMap(([, r]) => r.denies).filter((d) => d.server.match(server));
    const byScope = holds(principal, `launch:${server}`);
    if (byScope && denies.length === 0) return undefined;
    return new Rights(principal, held.map(([name]) => name), byScope, grants, denies);
  }
}

const books = new WeakMap<Config, RoleBook>();

/** The RoleBook of `config`, compiled at its first use. */
export function roleBook(config: Config): RoleBook {
  let book = books.get(config);
  if (!book) books.set(config, (book = new RoleBook(config.roles)));
  return book;
}

/** A subject's rights on one server. */
export class Rights {
  readonly #who: string;
  readonly #roleNames: readonly string[];
  readonly #byScope: boolean;
  readonly #grants: readonly Grant[];
  readonly #denies: readonly Deny[];

  constructor(principal: Principal, roleNames: readonly string[], byScope: boolean, grants: readonly Grant[], denies: readonly Deny[]) {
    this.#who = principal.subject;
    this.#roleNames = roleNames;
    this.#byScope = byScope;
    this.#grants = grants;
    this.#denies = denies;
  }

  /** The deny that takes the whole server away, if one does. */
  get wholeDeny(): string | undefined {
    return this.#denies.find((d) => d.whole)?.where;
  }

  /** Whether the subject may open a session at all: a launch scope or a grant, and no deny of the whole server. */
  get mayLaunch(): boolean {
    return this.wholeDeny === undefined && (this.#byScope || this.#grants.length > 0);
  }

  /** The rights as a policy Judge. */
  readonly judge: Judge = (target, readOnly) => this.#denied(target) ?? this.#ungranted(target, readOnly);

  #denied(t: Target): Denial | undefined {
    for (const deny of this.#denies) {
      if (deny.whole) return { kind: t.kind, name: t.name, rule: deny.where, because: `is on a server that ${deny.where} denies whole` };
      const list = deny.lists[t.kind];
      if (!list) continue;
      if (t.problem !== undefined) return { kind: t.kind, name: t.name, rule: `${deny.where}.${t.kind}`, reason: t.problem };
      for (const candidate of t.names) {
        if (list.match(candidate)) return { kind: t.kind, name: t.name, rule: `${deny.where}.${t.kind}`, pattern: list.patterns.find((p) => picomatch.isMatch(candidate, p, GLOB_OPTIONS)) };
      }
    }
    return undefined;
  }

  #ungranted(t: Target, readOnly: boolean): Denial | undefined {
    if (this.#byScope) return undefined;
    let readOnlyGrant: string | undefined;
    for (const grant of this.#grants) {
      const list = grant.lists[t.kind];
      if (list && (t.problem !== undefined || !t.allowNames.some((n) => list.match(n)))) continue;
      if (t.kind !== 'tools' || grant.access === 'write' || readOnly) return undefined;
      readOnlyGrant ??= grant.where;
    }
    if (readOnlyGrant !== undefined) {
      return { kind: t.kind, name: t.name, rule: `${readOnlyGrant}.access`, because: `is not annotated readOnlyHint, and ${readOnlyGrant} grants read access only` };
    }
    const roles = this.#roleNames.length ? this.#roleNames.join(', ') : 'none';
    const rule = this.#roleNames.length === 1 ? `roles.${this.#roleNames[0]}.grants` : 'roles';
    const because = t.problem !== undefined
      ? `${t.problem}, so no role's list of ${t.kind} can grant it`
      : `is in no grant of the roles of ${this.#who} (${roles}) on this server`;
    return { kind: t.kind, name: t.name, rule, because };
  }
}
