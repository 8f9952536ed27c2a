/**
 * A listener's chain of client authentication providers (README "The daemon"): they are asked
 * in order and the first that accepts a request wins; when all refuse, the answer is the first
 * one's refusal, so the chain's first entry says what the listener expects. A throw that is
 * not an McpdError is a bug and is passed on (a 500), never taken as a refusal to skip past.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpdError } from '../../../core/errors.js';
import type { AuthProviderConfig, Config } from '../../config/schema.js';
import type { ClientAccess } from '../access.js';
import type { Principal } from '../scopes.js';
import { bearerProvider } from './bearer.js';
import { ownerProvider } from './owner.js';
import type { ClientAuthProvider } from './provider.js';
import { createProvider, type ProviderContext } from './registry.js';

export class AuthChain {
  readonly #providers: readonly ClientAuthProvider[];

  constructor(providers: readonly ClientAuthProvider[]) {
    if (providers.length === 0) throw new McpdError('INTERNAL', 'an authentication chain needs at least one provider');
    this.#providers = providers;
  }

  /** The chain of extra listener `index` (`socket.listen[index].auth`). */
  static forListener(entries: readonly AuthProviderConfig[], index: number, access: ClientAccess, config: () => Config, extras: Pick<ProviderContext, 'oauth' | 'note' | 'audit'> = {}): AuthChain {
    return new AuthChain(entries.map((entry, m) => createProvider(entry, { access, config, ...extras, where: `socket.listen[${index}].auth[${m}]` })));
  }

  /** The owner-only socket's: a client token, else the owner when the request presents none (unless socket.requireToken). */
  static forOwnerSocket(access: ClientAccess, config: () => Config): AuthChain {
    return new AuthChain([bearerProvider(access), ownerProvider(config)]);
  }

  /** The principal of the first provider that accepts; else throws the first provider's refusal. */
  async authenticate(req: IncomingMessage, url: URL): Promise<Principal> {
    let first: McpdError | undefined;
    for (const provider of this.#providers) {
      try {
        return await provider.authenticate({ req, url });
      } catch (error) {
        if (!(error instanceof McpdError)) throw error;
        first ??= error;
      }
    }
    throw first!;
  }

  /** Whether a provider answered `req` as a path of its own (the `oauth` authorization server's pages). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#providers.some((p) => p.serve?.(req, res) === true);
  }

  /** The `WWW-Authenticate` value for a 401 carrying `refusal`: each provider's challenge, once each; undefined when none has one. */
  challenge(refusal: McpdError): string | undefined {
    const challenges = [...new Set(this.#providers.map((p) => p.challenge(refusal)).filter((c) => c !== undefined))];
    return challenges.length === 0 ? undefined : challenges.join(', ');
  }
}
