/**
 * Config values of more than one shape (a listener: a unix socket or a TCP port; `oauth`: false
 * or settings). zod 3's union tries every shape and, when none passes and none failed only on a
 * refinement or a bound, says only "invalid input" at the union's path. Here the shape is
 * picked from the value first (a key present, its JSON type), so a mistake inside it is
 * reported at its own path, and a value of no shape gets a message naming the shapes there are.
 */
import { z, type ZodTypeAny, type ZodTypeDef } from 'zod';

/** Why a value has none of the shapes, at a path below the value's own. */
export interface ShapeProblem {
  readonly message: string;
  readonly path?: ReadonlyArray<string | number>;
}

/** The union each picked value shows in the JSON Schema (scripts/config-schema.ts), by its schema's definition. */
export const shownAs = new WeakMap<ZodTypeDef, ZodTypeAny>();

/** One of `union`'s shapes, the one `pick` chooses for the value (or the problems it finds). */
export function pickShape<U extends ZodTypeAny>(union: U, pick: (value: unknown) => ZodTypeAny | readonly ShapeProblem[]): z.ZodEffects<z.ZodUnknown, z.output<U>> {
  const schema = z.unknown().transform((value, ctx): z.output<U> => {
    const shape = pick(value);
    if (!(shape instanceof z.ZodType)) {
      for (const problem of shape) ctx.addIssue({ code: 'custom', message: problem.message, path: [...(problem.path ?? [])] });
      return z.NEVER;
    }
    const parsed = shape.safeParse(value);
    if (!parsed.success) {
      for (const issue of parsed.error.issues) ctx.addIssue(issue);
      return z.NEVER;
    }
    return parsed.data as z.output<U>;
  });
  shownAs.set(schema._def, union);
  return schema;
}

/** Whether `value` is a JSON object (not a list, not null). */
export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
