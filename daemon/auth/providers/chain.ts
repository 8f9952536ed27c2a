/**
 * A listener's chain of client authentication providers (README "The daemon"): they are asked
 * in order and the first that accepts a request wins; when all refuse, the answer is the first
 * one's refusal, so the chain's first entry says what the listener expects, unless a provider
 * verified the credential and found it short of a scope (SCOPE_INSUFFICIENT): the caller is
 * then known, and that 403 says more than another provider's "not a token of mine". A throw that
 * is not an McpdError is a bug and is passed on (a 500), never taken as a refusal to skip past.
 *
 * The chain also speaks for its providers that name authorization servers (`jwt`): the RFC 9728
 * metadata of each endpoint, and the endpoint each request is for (a token's audience).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { McpdError } from '../../../core/errors.js';
import type { AuthProviderConfig, Config } from '../../config/schema.js';
import { type ListenerOrigin, protectedResource, type ProtectedResource, resourceMetadata } from '../../gateway/resource-metadata.js';
import type { ClientAccess } from '../access.js';
import type { Principal } from '../scopes.js';
import { bearerProvider } from './bearer.js';
import { ownerProvider } from './owner.js';
import type { ClientAuthProvider } from './provider.js';
import { createProvider, type ProviderContext } from './registry.js';

const UNIX_SOCKET: ListenerOrigin = { tls: false, unix: true };

export class AuthChain {
  readonly #providers: readonly ClientAuthProvider[];
  readonly #origin: ListenerOrigin;

  /** `origin`: what the listener knows of its own URL (an endpoint's URL is a token's audience). */
  constructor(providers: readonly ClientAuthProvider[], origin: ListenerOrigin = UNIX_SOCKET) {
    if (providers.length === 0) throw new McpdError('INTERNAL', 'an authentication chain needs at least one provider');
    this.#providers = providers;
    this.#origin = origin;
  }

  /** The chain of extra listener `index` (`socket.listen[index].auth`). */
  static forListener(entries: readonly AuthProviderConfig[], index: number, access: ClientAccess, config: () => Config, origin: ListenerOrigin = UNIX_SOCKET, extras: Pick<ProviderContext, 'oauth' | 'note' | 'audit'> = {}): AuthChain {
    return new AuthChain(entries.map((entry, m) => createProvider(entry, { access, config, ...extras, listener: origin, where: `socket.listen[${index}].auth[${m}]` })), origin);
  }

  /** The owner-only socket's: a client token, else the owner when the request presents none (unless socket.requireToken). */
  static forOwnerSocket(access: ClientAccess, config: () => Config): AuthChain {
    return new AuthChain([bearerProvider(access), ownerProvider(config)]);
  }

  /** The principal of the first provider that accepts; else throws the first SCOPE_INSUFFICIENT, or the first provider's refusal. */
  async authenticate(req: IncomingMessage, url: URL): Promise<Principal> {
    const resource = this.#resourceOf(req, url);
    let first: McpdError | undefined;
    let verified: McpdError | undefined;
    for (const provider of this.#providers) {
      try {
        return await provider.authenticate({ req, url, resource });
      } catch (error) {
        if (!(error instanceof McpdError)) throw error;
        first ??= error;
        if (error.code === 'SCOPE_INSUFFICIENT') verified ??= error;
      }
    }
    throw verified ?? first!;
  }

  /** Whether a provider answered `req` as a path of its own (the `oauth` authorization server's pages). */
  serve(req: IncomingMessage, res: ServerResponse): boolean {
    return this.#providers.some((p) => p.serve?.(req, res) === true);
  }

  /** The `WWW-Authenticate` value for a refusal of the request to `url`: each provider's challenge, once each; undefined when none has one. */
  challenge(refusal: McpdError, req?: IncomingMessage, url?: URL): string | undefined {
    const resource = req && url ? this.#resourceOf(req, url) : undefined;
    const challenges = [...new Set(this.#providers.map((p) => p.challenge(refusal, resource)).filter((c) => c !== undefined))];
    return challenges.length === 0 ? undefined : challenges.join(', ');
  }

  /** The RFC 9728 metadata of the endpoint `url` names; undefined when no provider names an authorization server, or `url` names no endpoint. */
  metadata(req: IncomingMessage, url: URL): Record<string, unknown> | undefined {
    const resource = this.#resourceOf(req, url);
    if (resource === undefined) return undefined;
    const servers = this.#providers.flatMap((p) => p.authorizationServers?.(resource) ?? []);
    const scopes = this.#providers.flatMap((p) => p.scopesSupported?.(resource.server) ?? []);
    return resourceMetadata(resource, [...new Set(servers)], [...new Set(scopes)]);
  }

  /** Whether any provider names an authorization server (the listener then has metadata). */
  get namesAuthorizationServers(): boolean {
    return this.#providers.some((p) => p.authorizationServers !== undefined);
  }

  #resourceOf(req: IncomingMessage, url: URL): ProtectedResource | undefined {
    return this.namesAuthorizationServers ? protectedResource(req, url, this.#origin) : undefined;
  }
}
