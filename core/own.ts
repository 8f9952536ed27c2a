/**
 * Looking a name up in a plain object. `servers[name]` answers for names no one wrote there
 * (`constructor`, `toString`, `__proto__` come from Object.prototype), so every lookup of a
 * name that comes from a user, a client or a file goes through here.
 */

/** The value `record` holds under `name` itself, never one inherited from its prototype. */
export function own<T>(record: Readonly<Record<string, T>>, name: string): T | undefined {
  return Object.hasOwn(record, name) ? record[name] : undefined;
}
