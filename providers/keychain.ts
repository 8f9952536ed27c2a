/**
 * The OS keychain: macOS Keychain, Windows Credential Manager, the Linux Secret Service
 * (gnome-keyring, KWallet), through @napi-rs/keyring.
 *
 *   "providers": { "keychain": { "type": "keychain", "service": "mcpd" } }
 *
 * `${keychain:SERVICE/ACCOUNT}` splits at the first `/`; `${keychain:NAME}` is service `mcpd`
 * (or the configured one), account NAME. The keychain keeps no versions: `store` returns the
 * time of the write as its version.
 */
import { z } from 'zod';
import { McpdError } from '../core/errors.js';
import type { ProviderContext } from './registry.js';
import { type Provider, type Ref, resolveEach, showRef } from './provider.js';

export const settings = z.strictObject({
  type: z.literal('keychain'),
  /** The service a one-part path (`${name:ACCOUNT}`) is looked up under. */
  service: z.string().min(1).default('mcpd'),
});
export type KeychainConfig = z.output<typeof settings>;

const CALL_TIMEOUT_MS = 5000;

/** An entry pinned to the Secret Service on Linux, whose default otherwise answers every read with "not found" when none runs. */
export async function keychainEntry(service: string, account: string) {
  const { AsyncEntry } = await import('@napi-rs/keyring');
  return new AsyncEntry(service, account, { linux: { store: 'secret-service' } });
}

let answers: Promise<boolean> | undefined;

/** Whether an OS keychain answers here; asked once per process. */
export function keychainAnswers(): Promise<boolean> {
  answers ??= keychainEntry('mcpd', 'mcpd-probe')
    .then((entry) => entry.getPassword(AbortSignal.timeout(2000)))
    .then(() => true, () => false);
  return answers;
}

export function create(name: string, config: KeychainConfig, _ctx: ProviderContext): Provider {
  const locate = (ref: Ref) => {
    const slash = ref.path.indexOf('/');
    return slash === -1 ? { service: config.service, account: ref.path } : { service: ref.path.slice(0, slash), account: ref.path.slice(slash + 1) };
  };
  const notFound = (ref: Ref) => new McpdError('SECRET_NOT_FOUND', `${showRef(ref)}: no such entry in the OS keychain (service "${locate(ref).service}", account "${locate(ref).account}")`, {
    hint: `store it with: mcpd secret set ${ref.raw}`,
  });
  const call = async <T>(ref: Ref, use: (entry: Awaited<ReturnType<typeof keychainEntry>>, signal: AbortSignal) => Promise<T>): Promise<T> => {
    const { service, account } = locate(ref);
    try {
      return await use(await keychainEntry(service, account), AbortSignal.timeout(CALL_TIMEOUT_MS));
    } catch (error) {
      throw unreachable(`while resolving ${showRef(ref)}`, error);
    }
  };
  return {
    name,
    resolve: (refs) => resolveEach(refs, async (ref) => {
      const value = await call(ref, (entry, signal) => entry.getPassword(signal));
      if (value === null) throw notFound(ref);
      return { value };
    }),
    store: async (ref, value) => {
      await call(ref, (entry, signal) => entry.setPassword(value, signal));
      return new Date().toISOString();
    },
    remove: async (ref) => {
      if (!(await call(ref, (entry, signal) => entry.deleteCredential(signal)))) throw notFound(ref);
    },
    // `SERVICE/ACCOUNT-PREFIX`, or `SERVICE` for all of a service, as references read; none: the configured service.
    list: async (prefix) => {
      const [service, accountPrefix] = prefix ? splitOnce(prefix) : [config.service, ''];
      const { findCredentialsAsync } = await import('@napi-rs/keyring');
      const found = await findCredentialsAsync(service, null, AbortSignal.timeout(CALL_TIMEOUT_MS)).catch((error: unknown) => {
        throw unreachable(`while listing service "${service}"`, error);
      });
      // Passwords come back with the accounts; only the names leave this function.
      const accounts = found.map((c) => c.account).filter((a) => a.startsWith(accountPrefix) && a !== 'mcpd-probe' && !a.startsWith('local-store-key:'));
      return accounts.sort().map((account) => ({ raw: `${name}:${service}/${account}`, provider: name, path: `${service}/${account}` }));
    },
    close: async () => {},
  };
}

function splitOnce(prefix: string): [string, string] {
  const slash = prefix.indexOf('/');
  return slash === -1 ? [prefix, ''] : [prefix.slice(0, slash), prefix.slice(slash + 1)];
}

function unreachable(context: string, error: unknown): McpdError {
  if (error instanceof McpdError) return error;
  const timedOut = error instanceof Error && (error.name === 'AbortError' || error.name === 'TimeoutError');
  const cause = error instanceof Error ? error.message.split('\n')[0]!.slice(0, 160) : String(error);
  return new McpdError(timedOut ? 'PROVIDER_TIMEOUT' : 'PROVIDER_UNAVAILABLE', `the OS keychain is not reachable ${context} (${timedOut ? `no answer within ${CALL_TIMEOUT_MS / 1000} s` : cause})`, {
    hint: 'start and unlock a Secret Service (gnome-keyring, KWallet) in this session, or keep the secret in the local encrypted store instead: mcpd secret set local:PATH',
    cause: error,
  });
}
