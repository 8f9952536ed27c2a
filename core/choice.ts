/**
 * Config values picked from a fixed list (a provider's type, a strategy, an access level), with
 * messages that name the value given and list the accepted ones in mcpd's words: zod's own name
 * no value for a discriminator, and none at all where a union around them says "invalid input".
 * Here, not in the daemon's config schema, so that a provider's settings can use them too.
 *
 * Only such names are ever quoted back; a value that could be a secret is described by its kind.
 */
import { z } from 'zod';

/** A given value as a message may show it: a name quoted (and cut short), anything else by its kind. */
export function shownValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  return kindOf(value);
}

/** The JSON kind of a value, for "got …": never the value itself. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (value === undefined) return 'nothing';
  return `a ${typeof value}`;
}

/** "unknown WHAT GIVEN; expected one of A, B" (or "missing WHAT; …" when nothing was given). */
export function unknownChoice(what: string, given: unknown, options: readonly unknown[]): string {
  const accepted = `expected one of ${options.map(String).join(', ')}`;
  if (given === undefined) return `missing ${what}; ${accepted}`;
  return `unknown ${what} ${typeof given === 'object' && given !== null ? `(${kindOf(given)})` : shownValue(given)}; ${accepted}`;
}

/** One of `values`, a wrong one named with the accepted ones (`what`: "access level"). */
export function oneOf<const T extends readonly [string, ...string[]]>(values: T, what: string): z.ZodEnum<z.Writeable<T>> {
  return z.enum(values as unknown as z.Writeable<T>, {
    errorMap: (issue, ctx) => (issue.code === 'invalid_enum_value' || issue.code === 'invalid_type' ? { message: unknownChoice(what, ctx.data, values) } : { message: ctx.defaultError }),
  });
}

/**
 * The error map of a discriminated union: an unknown or missing discriminator names the value
 * and the accepted ones (`what`: "auth provider type"), a value that is no object says what one
 * looks like (`example`: 'an auth provider such as {"type": "bearer"}').
 */
export function discriminatorErrors(what: string, example: string): z.ZodErrorMap {
  return (issue, ctx) => {
    if (issue.code === 'invalid_union_discriminator') {
      const key = issue.path.at(-1);
      const data = ctx.data as Record<string, unknown>;
      const given = typeof key === 'string' && Object.hasOwn(data, key) ? data[key] : undefined;
      return { message: unknownChoice(what, given, issue.options) };
    }
    if (issue.code === 'invalid_type' && issue.expected === 'object') {
      return { message: `expected ${example}, got ${kindOf(ctx.data)}` };
    }
    return { message: ctx.defaultError };
  };
}
