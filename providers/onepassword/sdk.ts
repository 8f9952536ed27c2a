/**
 * The boundary with @1password/sdk: the part of its client mcpd uses (what the test double
 * implements), the lazy load of its WASM, and the translation of its errors into McpdError.
 * The SDK reports failures as plain Errors with its core's text, except three classes
 * (RateLimitExceededError, DesktopSessionExpiredError, AuthExpiredError); both are handled here.
 */
import type { Client, ResolveReferenceError } from '@1password/sdk';
import { asMcpdError, McpdError } from '../../core/errors.js';
import { type Ref, showRef } from '../provider.js';
import { ambiguous, malformed, missingField, missingItem, missingSection, missingVault, type OpRef, type Purpose, sdkReason } from './reference.js';

export type Sdk = typeof import('@1password/sdk');

/** The SDK client's surface mcpd uses; `createClient`'s Client has it, and so does the test double. */
export interface OpClient {
  readonly secrets: Pick<Client['secrets'], 'resolveAll'>;
  readonly items: Pick<Client['items'], 'get' | 'put'>;
}

/** `createClient`'s argument (the SDK does not export its name). */
export type OpClientConfig = Parameters<Sdk['createClient']>[0];

export type CreateOpClient = (config: OpClientConfig) => Promise<OpClient>;

let loaded: Promise<Sdk> | undefined;

/** Loads the SDK (and so its WASM) on first use only: a config without op references never pays for it. */
export function loadSdk(): Promise<Sdk> {
  loaded ??= import('@1password/sdk').catch((error: unknown) => {
    loaded = undefined;
    throw new McpdError('PROVIDER_UNAVAILABLE', `cannot load the 1Password SDK (@1password/sdk): ${sdkReason(error)}`, {
      hint: 'reinstall mcpd so that its dependencies are complete',
      cause: error,
    });
  });
  return loaded;
}

/** How a provider signs in, and where that came from, which is how errors name it. */
export type OpAuth =
  | { readonly kind: 'token'; readonly token: string; readonly source: string }
  | { readonly kind: 'desktop'; readonly account: string; readonly source: string };

const RATE_HINT_TAIL = 'mcpd keeps resolved values in memory for the provider\'s cacheTtl (default 5m): a longer cacheTtl spends fewer reads';

/** Translates an SDK failure (creating a client, or a call on one) into McpdError; McpdErrors pass through. */
export function translate(error: unknown, auth: OpAuth, sdk: Sdk, providerName: string): McpdError {
  if (error instanceof McpdError) return error;
  const detail = scrub(sdkReason(error), auth);
  if (error instanceof sdk.RateLimitExceededError || /rate limit exceeded|too many requests/i.test(detail)) {
    return new McpdError('PROVIDER_UNAVAILABLE', '1Password rate limit reached (service accounts allow 1,000–10,000 reads an hour)', {
      hint: `wait for the hourly allowance to refill; ${RATE_HINT_TAIL}`,
      cause: error,
    });
  }
  if (error instanceof sdk.DesktopSessionExpiredError) return sessionExpired(auth, error);
  if (auth.kind === 'desktop') return desktopFailed(auth, detail, error);
  const rejected = error instanceof sdk.AuthExpiredError || /service account token|not authenticated|unauthori[sz]ed|\b401\b|failed to authenticate/i.test(detail);
  if (rejected) {
    return new McpdError('PROVIDER_FAILED', `1Password rejected the service account token from ${auth.source} (${detail})`, {
      hint: `check the token in ${auth.source}: it must be a current service account token (ops_…); if it was revoked or expired, create a new one in 1Password and store it there`,
      cause: error,
    });
  }
  if (/conflict/i.test(detail)) {
    return new McpdError('PROVIDER_FAILED', `1Password refused the write: the item changed since it was read (${detail})`, {
      hint: 'someone else updated the item at the same moment; run the write again',
      cause: error,
    });
  }
  // The core's HTTP layer says "http error" / "request"; anything else is 1Password answering no.
  if (/http|request|connect|network|dns|timed? ?out/i.test(detail)) {
    return new McpdError('PROVIDER_UNAVAILABLE', `1Password provider "${providerName}" could not reach 1Password (${detail})`, {
      hint: `check this machine's connection to 1Password; ${RATE_HINT_TAIL}`,
      cause: error,
    });
  }
  return new McpdError('PROVIDER_FAILED', `1Password provider "${providerName}" failed: ${detail}`, {
    hint: 'try again; if it persists, check the item in 1Password and that this account may read and write it',
    cause: error,
  });
}

export function sessionExpired(auth: OpAuth, cause: unknown): McpdError {
  const account = auth.kind === 'desktop' ? ` (account "${auth.account}")` : '';
  return new McpdError('PROVIDER_UNAVAILABLE', `the 1Password desktop app session expired${account}; unlock the app`, {
    hint: 'open 1Password and unlock it, then try again; mcpd signs in again by itself',
    cause,
  });
}

function desktopFailed(auth: Extract<OpAuth, { kind: 'desktop' }>, detail: string, cause: unknown): McpdError {
  return new McpdError('PROVIDER_UNAVAILABLE', `the 1Password desktop app did not answer for account "${auth.account}" from ${auth.source} (${detail})`, {
    hint: 'install and unlock 1Password 8, turn on Settings › Developer › "Integrate with other apps", and check the account name (as shown at the top of the app\'s sidebar, or its UUID); or use a service account token instead',
    cause,
  });
}

/** The one-reference error resolveAll reported, as the message a user sees. */
export function referenceFailed(op: OpRef, error: ResolveReferenceError | undefined, purpose: Purpose): McpdError {
  if (!error) {
    return new McpdError('PROVIDER_FAILED', `1Password returned no answer for ${showRef(op.ref)}`, {
      hint: 'this is unexpected from the 1Password SDK; try again, and report it if it persists',
    });
  }
  switch (error.type) {
    case 'vaultNotFound':
      return missingVault(op, purpose);
    case 'itemNotFound':
      return missingItem(op, purpose);
    case 'noMatchingSections':
      return missingSection(op, purpose);
    case 'fieldNotFound':
      return missingField(op, purpose);
    case 'tooManyVaults':
      return ambiguous(op, 'vault');
    case 'tooManyItems':
      return ambiguous(op, 'item');
    case 'tooManyMatchingFields':
      return ambiguous(op, 'field');
    case 'parsing':
      return malformed(op.ref, error.message);
    default:
      return new McpdError('PROVIDER_FAILED', `1Password could not resolve ${showRef(op.ref)} (${error.type}${error.message ? `: ${error.message}` : ''})`, {
        hint: 'check that the reference names a plain field; ?attribute= works only on fields that have that attribute',
      });
  }
}

/** Names the reference in a failure that concerns a whole call (a bad token, a rate limit). */
export function about(ref: Ref, error: unknown): McpdError {
  const failure = asMcpdError(error, '1Password provider');
  return new McpdError(failure.code, `${showRef(ref)}: ${failure.message}`, { hint: failure.hint, cause: failure.cause });
}

// The SDK's messages do not quote the token, but a message must never hold a secret, whatever a future SDK says.
function scrub(text: string, auth: OpAuth): string {
  const line = text.split('\n')[0]!.trim().replace(/\s+/g, ' ');
  const clean = auth.kind === 'token' && auth.token.length >= 4 ? line.split(auth.token).join('[token]') : line;
  return clean.length > 200 ? `${clean.slice(0, 200)}…` : clean;
}
