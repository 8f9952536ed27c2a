/**
 * `${NAME}`, `${NAME:-default}`, `${env:NAME}`: the caller's environment. Built in; no config.
 * An unset variable is an error unless the reference gives a default; a variable set to the
 * empty string is empty, as in a shell.
 */
import { z } from 'zod';
import { McpdError } from '../core/errors.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, resolveEach, showRef } from './provider.js';
import { own } from '../core/own.js';

export const settings = z.strictObject({ type: z.literal('env') });

export function create(name: string, _config: unknown, ctx: ProviderContext): Provider {
  return {
    name,
    resolve: (refs) => resolveEach(refs, async (ref: Ref) => {
      const value = own(ctx.env, ref.path) ?? ref.fallback;
      if (value === undefined) {
        throw new McpdError('ENV_UNSET', `environment variable ${ref.path} is not set (referenced as ${showRef(ref)})`, {
          hint: `set ${ref.path} in the environment mcpd runs in, or give a default: \${${ref.path}:-default}`,
        });
      }
      return { value };
    }),
    close: async () => {},
  };
}
