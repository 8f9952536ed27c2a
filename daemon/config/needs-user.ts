/**
 * Which servers cannot be started without the user at hand: a reference read through the
 * 1Password desktop app asks the user to approve (biometrics or password), so such a server is
 * never pre-started by a warm pool, where no one expects a prompt. Only the 1Password desktop
 * integration is known to prompt; the other backends read without the user.
 */
import type { Env } from '../../core/paths.js';
import { own } from '../../core/own.js';
import { usesDesktopApp } from '../../providers/onepassword.js';
import { showRef } from '../../providers/provider.js';
import { refsOf } from '../../providers/reference.js';
import { builtinProviders } from '../../providers/registry.js';
import { referenceTexts } from './references.js';
import type { Config, ServerConfig } from './schema.js';

/** Why starting server `name` would prompt the user, naming the reference; undefined when it would not. */
export function needsTheUser(name: string, server: ServerConfig, config: Config, env: Env): string | undefined {
  for (const [where, text] of referenceTexts(name, server)) {
    for (const ref of refsOf(text, where)) {
      const provider = own(config.providers, ref.provider) ?? own(builtinProviders, ref.provider);
      if (provider?.type === '1password' && usesDesktopApp(provider, env)) {
        return `${showRef(ref)} is read through the 1Password desktop app, which asks the user to approve; the server starts when a session opens`;
      }
    }
  }
  return undefined;
}
