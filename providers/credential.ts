/**
 * `${credential:NAME}`: a systemd credential, `$CREDENTIALS_DIRECTORY/NAME`, as provided by
 * `LoadCredential=` / `LoadCredentialEncrypted=` in mcpd.service. Built in.
 */
import { join } from 'node:path';
import { z } from 'zod';
import { McpdError } from '../core/errors.js';
import { readSecretFile } from './file.js';
import type { ProviderContext } from './registry.js';
import { type Provider, resolveEach, showRef } from './provider.js';

export const settings = z.strictObject({ type: z.literal('credential') });

export function create(name: string, _config: unknown, ctx: ProviderContext): Provider {
  return {
    name,
    resolve: (refs) => resolveEach(refs, async (ref) => {
      const dir = ctx.env.CREDENTIALS_DIRECTORY;
      if (!dir) {
        throw new McpdError('PROVIDER_UNAVAILABLE', `${showRef(ref)}: $CREDENTIALS_DIRECTORY is not set, so there are no systemd credentials`, {
          hint: `run mcpd under systemd with LoadCredential=${ref.path}:… (or LoadCredentialEncrypted=) in the unit`,
        });
      }
      if (ref.path.includes('/') || ref.path.startsWith('.')) {
        throw new McpdError('REF_MALFORMED', `${showRef(ref)}: a credential name cannot contain / or start with .`, {
          hint: 'use the name given in LoadCredential=NAME:…',
        });
      }
      return { value: await readSecretFile(join(dir, ref.path), ref) };
    }),
    close: async () => {},
  };
}
