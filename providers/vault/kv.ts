/**
 * Vault paths and the secrets they hold: `${vault:PATH[?version=N][#FIELD]}` with PATH as
 * `vault read` takes it (a KV v2 path includes `data/`), the response envelopes of KV v1, KV v2
 * and dynamic engines, and check-and-set writes to KV v2.
 */
import { McpdError } from '../../core/errors.js';
import { conflict, type Lease, type Ref, type Resolved, showRef, type Version } from '../provider.js';
import { about, detailOf, statusOf, type VaultBody, type VaultHttp } from './client.js';

export interface VaultRef {
  readonly ref: Ref;
  /** The API path, without query or field: `secret/data/github`. */
  readonly path: string;
  readonly version: number | undefined;
  readonly field: string | undefined;
  /** What is read: the path with its `?version=N`; references sharing it share one read. */
  readonly readPath: string;
}

/** A read's fields, before one is picked. */
export interface Secret {
  readonly fields: Record<string, unknown>;
  readonly version?: Version;
  readonly lease?: Lease;
}

export function parseVaultRef(ref: Ref): VaultRef {
  const hash = ref.path.indexOf('#');
  const field = hash === -1 ? undefined : ref.path.slice(hash + 1);
  const location = hash === -1 ? ref.path : ref.path.slice(0, hash);
  const question = location.indexOf('?');
  const path = (question === -1 ? location : location.slice(0, question)).replace(/^\/+|\/+$/g, '');
  const example = `\${vault:secret/data/NAME?version=3#FIELD}`;
  if (path === '') throw malformed(ref, 'has no path', example);
  if (field === '') throw malformed(ref, 'has an empty #FIELD', example);
  let version: number | undefined;
  if (question !== -1) {
    for (const [key, text] of new URLSearchParams(location.slice(question + 1))) {
      if (key !== 'version') throw malformed(ref, `has an unknown option "?${key}" (only ?version=N is known)`, example);
      version = Number(text);
      if (!Number.isInteger(version) || version < 1) throw malformed(ref, `has ?version=${text}; expected a version number from 1 up`, example);
    }
  }
  return { ref, path, version, field, readPath: version ? `${path}?version=${version}` : path };
}

function malformed(ref: Ref, what: string, example: string): McpdError {
  return new McpdError('REF_MALFORMED', `malformed reference ${showRef(ref)}: it ${what}`, { hint: `write a Vault reference as ${example}` });
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

/** KV v2 answers `{data: {data, metadata: {version}}}`; KV v1 and dynamic engines answer `{data: fields}`. */
export function secretOf(body: VaultBody, now: number): Secret {
  const data = body.data ?? {};
  const lease = body.lease_id
    ? { id: body.lease_id, expiresAt: now + (body.lease_duration ?? 0) * 1000, renewable: body.renewable === true }
    : undefined;
  if (isObject(data.data) && isObject(data.metadata) && typeof data.metadata.version === 'number') {
    return { fields: data.data, version: String(data.metadata.version), ...(lease ? { lease } : {}) };
  }
  return { fields: data, ...(lease ? { lease } : {}) };
}

/** The value of the reference's field; without `#FIELD`, the only field there is. */
export function pickField(vref: VaultRef, secret: Secret): Resolved {
  const names = Object.keys(secret.fields).sort();
  const own = (value: unknown): Resolved => ({
    value: typeof value === 'string' ? value : JSON.stringify(value),
    ...(secret.version ? { version: secret.version } : {}),
    ...(secret.lease ? { lease: secret.lease } : {}),
  });
  const list = names.map((n) => `"${n}"`).join(', ');
  const example = (n: string) => showRef({ ...vref.ref, raw: `${vref.ref.provider}:${vref.readPath}#${n}` });
  if (vref.field !== undefined) {
    if (Object.hasOwn(secret.fields, vref.field)) return own(secret.fields[vref.field]);
    const has = names.length ? `its fields are ${list}` : 'it holds no fields';
    throw new McpdError('SECRET_NOT_FOUND', `${showRef(vref.ref)}: ${vref.path} has no field "${vref.field}"; ${has}`, {
      hint: names.length ? `name one of its fields, e.g. ${example(names[0]!)}` : `store it with: mcpd secret set ${vref.ref.raw}`,
    });
  }
  if (names.length === 1) return own(secret.fields[names[0]!]);
  if (names.length === 0) throw new McpdError('SECRET_NOT_FOUND', `${showRef(vref.ref)}: ${vref.path} holds no fields`, { hint: `check it with: vault read ${vref.path}` });
  throw new McpdError('CONFIG_INVALID', `${showRef(vref.ref)} names no field, and ${vref.path} has ${names.length}: ${list}`, {
    hint: `add the field to the reference, e.g. ${example(names[0]!)}`,
  });
}

/**
 * A 404 reworded for a reference to `vref.path` (the caller prefixes which one). Asks Vault which mount the path is on, so that a KV v2 path
 * written without `data/` (the classic wrong guess) gets the path it should have been.
 */
export async function notFound(http: VaultHttp, vref: VaultRef, error: McpdError): Promise<McpdError> {
  const mount = await http.mountOf(vref.path);
  let hint = `check the path with: vault read ${vref.path}`;
  if (mount && (mount.type === 'kv' || mount.type === 'generic') && vref.path.startsWith(mount.path)) {
    const rest = vref.path.slice(mount.path.length);
    if (mount.version === '2' && !rest.startsWith('data/')) hint = `this mount is KV version 2: read ${mount.path}data/${rest}`;
    if (mount.version !== '2' && rest.startsWith('data/')) hint = `this mount is KV version 1: read ${mount.path}${rest.slice('data/'.length)}`;
  }
  const version = vref.version ? `version ${vref.version} of ` : '';
  return new McpdError('SECRET_NOT_FOUND', `nothing at ${version}${vref.path} on ${http.where}`, { hint, cause: error.cause });
}

/**
 * Writes one field, keeping the secret's other fields. On KV v2 the write is check-and-set
 * against the version just read, so two writers cannot both win: the loser re-reads once and
 * writes on top of the winner, or fails saying so. KV v1 has no versions: a plain write.
 */
export async function writeField(http: VaultHttp, vref: VaultRef, value: string, now: () => number, ifVersion?: Version): Promise<Version> {
  if (vref.version) {
    throw new McpdError('PROVIDER_UNSUPPORTED', `${showRef(vref.ref)}: a write always makes a new version; ?version=${vref.version} cannot be written`, {
      hint: `write to ${vref.ref.provider}:${vref.path}#${vref.field ?? 'value'}`,
    });
  }
  const mount = await http.mountOf(vref.path);
  const kv2 = mount ? mount.version === '2' : /^[^/]+\/data\//.test(vref.path);
  const field = vref.field ?? 'value';
  // With ifVersion the caller's check-and-set is the point: one attempt, and a loss is a conflict.
  for (let attempt = 1; attempt <= (ifVersion === undefined ? 2 : 1); attempt++) {
    const current = await readCurrent(http, vref);
    if (ifVersion !== undefined && kv2 && String(current.version) !== ifVersion) throw conflict(vref.ref, ifVersion, String(current.version));
    const data = { ...current.fields, [field]: value };
    try {
      if (!kv2) {
        await http.write(vref.path, data);
        return new Date(now()).toISOString();
      }
      const body = await http.write(vref.path, { data, options: { cas: current.version } });
      const written = body.data?.version;
      return String(typeof written === 'number' ? written : current.version + 1);
    } catch (error) {
      if (statusOf(error) === 404) throw about(showRef(vref.ref), await notFound(http, vref, error as McpdError));
      if (!(statusOf(error) === 400 && /check-and-set/i.test(detailOf(error)))) throw about(showRef(vref.ref), error);
      if (ifVersion !== undefined) throw conflict(vref.ref, ifVersion, 'a newer one');
    }
  }
  throw new McpdError('PROVIDER_FAILED', `${showRef(vref.ref)}: another writer changed ${vref.path} while mcpd was writing it, twice in a row; this write did not land`, {
    hint: 'run it again; if it keeps failing, look for another writer (another machine rotating the same path?)',
  });
}

async function readCurrent(http: VaultHttp, vref: VaultRef): Promise<{ fields: Record<string, unknown>; version: number }> {
  try {
    const secret = secretOf(await http.read(vref.path), 0);
    return { fields: secret.fields, version: Number(secret.version ?? 0) };
  } catch (error) {
    if (statusOf(error) !== 404) throw about(showRef(vref.ref), error);
    // A KV v2 secret whose newest version was deleted answers 404 but still has a version to check against.
    const body = (error as McpdError).cause as { body?: { data?: { metadata?: { version?: unknown } } } } | undefined;
    const version = body?.body?.data?.metadata?.version;
    return { fields: {}, version: typeof version === 'number' ? version : 0 };
  }
}
