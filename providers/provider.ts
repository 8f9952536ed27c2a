import { asMcpdError, McpdError } from '../core/errors.js';

/**
 * A parsed secret reference: the text between `${` and `}`.
 * `${secret:github/pat}` is { raw: 'secret:github/pat', provider: 'secret', path: 'github/pat' }.
 * `${op://Work/Linear/api key}` keeps its whole text as path, since 1Password resolves it whole.
 */
export interface Ref {
  /** The reference as written, without `${}`; this is how errors and logs name it. */
  readonly raw: string;
  /** A key of the config's `providers`, or a built-in name (env, file, keychain, local, secret, credential). */
  readonly provider: string;
  readonly path: string;
  /** `${NAME:-default}`: used when the variable is unset. */
  readonly fallback?: string;
}

export interface Lease {
  readonly id: string;
  readonly expiresAt: number;
  readonly renewable: boolean;
}

export type Version = string;

export interface ResolveOptions {
  /** Ask the backend itself, past the daemon's cache (a rotation must read what is there now). */
  readonly fresh?: boolean;
}

export interface StoreOptions {
  /** Write only if the entry's newest version is still this one ('0': it does not exist yet); else SECRET_CONFLICT. */
  readonly ifVersion?: Version;
}

export interface Resolved {
  readonly value: string;
  readonly version?: Version;
  readonly lease?: Lease;
}

/** One outcome per requested reference, in request order, so one bad reference does not hide the others. */
export type Resolution = Resolved | McpdError;

/**
 * A secret backend. Each backend is one file in providers/ implementing this, registered by
 * type in backends.ts. Optional methods are the capabilities a backend has: a read-only
 * backend (env, file, exec) has only `resolve` and `close`.
 */
export interface Provider {
  /** The config name it was created under (`secret`, or a key of `providers`). */
  readonly name: string;
  /** Batch resolve: backends that can fetch many at once (1Password, one Vault read per path) should. */
  resolve(refs: readonly Ref[], options?: ResolveOptions): Promise<Resolution[]>;
  /** Adds a version; backends with versions (local, Vault KV v2) honour `ifVersion` (check-and-set). */
  store?(ref: Ref, value: string, options?: StoreOptions): Promise<Version>;
  remove?(ref: Ref): Promise<void>;
  /** Entries below `prefix`, as references; never values. */
  list?(prefix?: string): Promise<Ref[]>;
  renew?(lease: Lease): Promise<Lease>;
  revoke?(lease: Lease): Promise<void>;
  close(): Promise<void>;
}

/** A check-and-set write that lost: someone else wrote the entry since `expected`. */
export function conflict(ref: Ref, expected: Version, found: Version): McpdError {
  return new McpdError('SECRET_CONFLICT', `${showRef(ref)} changed while it was being written (expected version ${expected}, found ${found}); this write did not land`, {
    hint: 'another writer (another machine rotating the same secret?) got there first: read the secret again before writing',
  });
}

/** The printable form of a reference: `${secret:github/pat}`. */
export function showRef(ref: Ref): string {
  return '${' + ref.raw + '}';
}

/** Runs `resolveOne` per reference, turning a throw into that reference's outcome. */
export async function resolveEach(
  refs: readonly Ref[],
  resolveOne: (ref: Ref) => Promise<Resolved>,
): Promise<Resolution[]> {
  return Promise.all(
    refs.map(async (ref) => {
      try {
        return await resolveOne(ref);
      } catch (error) {
        return asMcpdError(error, `resolving ${showRef(ref)}`);
      }
    }),
  );
}
