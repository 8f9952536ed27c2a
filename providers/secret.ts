/**
 * `${secret:PATH}`: the default store. Built in; no config.
 *
 * Where an OS keychain answers, PATH is keychain service `mcpd`, account PATH; otherwise it is
 * `local:PATH`. Reads fall back to the local store when the keychain lacks the entry, so a
 * secret stored while the keychain was down (a headless session) is still found.
 */
import { z } from 'zod';
import { McpdError } from '../core/errors.js';
import { keychainAnswers } from './keychain.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, type Resolution, showRef } from './provider.js';

export const settings = z.strictObject({ type: z.literal('secret') });

type Backend = 'keychain' | 'local';

const backendRef = (backend: Backend, ref: Ref): Ref =>
  backend === 'keychain' ? { raw: `keychain:mcpd/${ref.path}`, provider: 'keychain', path: `mcpd/${ref.path}` } : { raw: `local:${ref.path}`, provider: 'local', path: ref.path };

export function create(name: string, _config: unknown, ctx: ProviderContext): Provider {
  const primary = async (): Promise<Backend> => ((await keychainAnswers()) ? 'keychain' : 'local');
  const backend = async (which: Backend) => {
    const provider = await ctx.registry.get(which);
    ctx.note(`\${${name}:…} uses the ${which === 'keychain' ? 'OS keychain' : 'local encrypted store'}`);
    return provider;
  };
  /** Restates a backend's error in terms of the reference the user wrote. */
  const restate = (ref: Ref, error: McpdError): McpdError =>
    error.code === 'SECRET_NOT_FOUND'
      ? new McpdError('SECRET_NOT_FOUND', `${showRef(ref)}: no such secret in the OS keychain (service mcpd) or the local store`, { hint: `store it with: mcpd secret set ${ref.path}` })
      : new McpdError(error.code, `${showRef(ref)}: ${error.message}`, { hint: error.hint, cause: error });

  async function resolveFrom(which: Backend, refs: readonly Ref[]): Promise<Resolution[]> {
    return (await backend(which)).resolve(refs.map((ref) => backendRef(which, ref)));
  }

  return {
    name,
    resolve: async (refs) => {
      const first = await primary();
      const outcomes = await resolveFrom(first, refs);
      if (first === 'keychain') {
        const missing = refs.filter((_, i) => isNotFound(outcomes[i]));
        const fallback = missing.length ? await resolveFrom('local', missing) : [];
        refs.forEach((ref, i) => { if (isNotFound(outcomes[i])) outcomes[i] = fallback[missing.indexOf(ref)]!; });
      }
      return outcomes.map((outcome, i) => (outcome instanceof McpdError ? restate(refs[i]!, outcome) : outcome));
    },
    // The options go through: a rotation's check-and-set (ifVersion) must hold on the local store too.
    store: async (ref, value, options) => {
      const which = await primary();
      try {
        return await (await backend(which)).store!(backendRef(which, ref), value, options);
      } catch (error) {
        throw error instanceof McpdError ? restate(ref, error) : error;
      }
    },
    remove: async (ref) => {
      for (const which of (await primary()) === 'keychain' ? (['keychain', 'local'] as const) : (['local'] as const)) {
        try {
          return await (await backend(which)).remove!(backendRef(which, ref));
        } catch (error) {
          if (!isNotFound(error)) throw error;
        }
      }
      throw restate(ref, new McpdError('SECRET_NOT_FOUND', ''));
    },
    list: async (prefix) => {
      const sources: Backend[] = (await primary()) === 'keychain' ? ['keychain', 'local'] : ['local'];
      const paths = new Set<string>();
      for (const which of sources) {
        const refs = await (await backend(which)).list!(which === 'keychain' ? `mcpd/${prefix ?? ''}` : prefix);
        for (const ref of refs) paths.add(which === 'keychain' ? ref.path.slice('mcpd/'.length) : ref.path);
      }
      return [...paths].sort().map((path) => ({ raw: `${name}:${path}`, provider: name, path }));
    },
    close: async () => {},
  };
}

function isNotFound(value: unknown): boolean {
  return value instanceof McpdError && value.code === 'SECRET_NOT_FOUND';
}
