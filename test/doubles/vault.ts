/**
 * A Vault test DOUBLE (no real Vault can run here): a real HTTP server on 127.0.0.1, port 0,
 * speaking the parts of Vault's documented HTTP API that mcpd uses, with Vault's status codes
 * and error bodies:
 *
 * - KV v1 (GET/POST /v1/MOUNT/PATH) and KV v2 (GET /v1/MOUNT/data/PATH[?version=N], POST with
 *   `{data, options: {cas}}`; a stale cas is 400 "check-and-set parameter did not match …");
 * - sys/internal/ui/mounts/PATH (what the vault CLI asks to learn a mount's KV version);
 * - auth/token/lookup-self and renew-self, auth/approle/login;
 * - a database engine: GET /v1/MOUNT/creds/ROLE issues a fresh credential under a new lease;
 *   sys/leases/renew and sys/leases/revoke. Leases and tokens expire by the double's clock
 *   (`now`, injectable), and an expired lease is gone, as in Vault;
 * - a standby node's 307 to another address (`redirect`), as Vault answers without request forwarding;
 * - 403 {"errors":["permission denied"]} for a missing, unknown or expired token or a path
 *   outside its policies; 503 {"errors":["Vault is sealed"]} while `sealed`; 404 {"errors":[]}.
 *
 * Everything lives per namespace (the X-Vault-Namespace header). Every call is recorded
 * (method, path with query, namespace) so tests count backend calls and wait on them.
 */
import { randomBytes } from 'node:crypto';
import { createServer as createHttp, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttps } from 'node:https';
import type { AddressInfo } from 'node:net';

export interface Call {
  readonly method: string;
  readonly path: string;
  readonly namespace: string;
}

export interface TokenSpec {
  /** Seconds; 0 never expires (a root token). */
  ttl?: number;
  renewable?: boolean;
  /** Seconds from creation after which renewals stop extending it; 0 for none. */
  maxTtl?: number;
  /** Path prefixes the token may use; `*` for all. */
  policies?: string[];
  namespace?: string;
}

export interface RoleSpec {
  ttl: number;
  maxTtl?: number;
  renewable?: boolean;
}

type Fields = Record<string, unknown>;
type Mount =
  | { kind: 'kv1'; entries: Map<string, Fields> }
  | { kind: 'kv2'; entries: Map<string, Fields[]> }
  | { kind: 'database'; roles: Map<string, RoleSpec> };
interface Token { ttl: number; renewable: boolean; expiresAt: number; maxExpiresAt: number; policies: string[]; namespace: string }
interface Lease { ttl: number; renewable: boolean; expiresAt: number; maxExpiresAt: number }

class Reply {
  constructor(readonly status: number, readonly body?: unknown) {}
}
const denied = () => new Reply(403, { errors: ['permission denied'] });
const missing = () => new Reply(404, { errors: [] });
const isObject = (v: unknown): v is Fields => typeof v === 'object' && v !== null && !Array.isArray(v);

export class VaultDouble {
  readonly calls: Call[] = [];
  /** Every credential the database engine issued, oldest first. */
  readonly issued: Array<{ leaseId: string; username: string; password: string }> = [];
  /** Leases revoked through sys/leases/revoke (not those that expired or an operator revoked), in order. */
  readonly revoked: string[] = [];
  sealed = false;
  /** While set, requests get no answer at all (a hung server), until the double closes. */
  stalled = false;
  /** Runs before a KV v2 write is checked: a test's way to slip in another writer. */
  beforeKvWrite: ((path: string) => void) | undefined;
  /** A standby node's 307: given a request's URL and method, the Location to send it to, or undefined to answer it. */
  redirect: ((url: string, method: string) => string | undefined) | undefined;
  /** The X-Vault-Token of every request that arrived (empty string when none did), redirected ones too. */
  readonly tokensSeen: string[] = [];
  readonly #server: Server;
  readonly #now: () => number;
  readonly #mounts = new Map<string, Mount>();
  readonly #tokens = new Map<string, Token>();
  readonly #roles = new Map<string, { secretId: string; spec: TokenSpec }>();
  readonly #leases = new Map<string, Lease>();
  #waiters: Array<() => boolean> = [];
  readonly #scheme: string;

  private constructor(server: Server, now: () => number, scheme: string) {
    this.#server = server;
    this.#scheme = scheme;
    this.#now = now;
  }

  /** `tls`: serve HTTPS with this key and certificate instead of HTTP. `host`: another loopback address (127.0.0.2) stands for another machine. */
  static async start(options: { now?: () => number; tls?: { key: string; cert: string }; host?: string } = {}): Promise<VaultDouble> {
    const server = options.tls ? createHttps(options.tls) : createHttp();
    const double = new VaultDouble(server, options.now ?? Date.now, options.tls ? 'https' : 'http');
    server.on('request', (req: IncomingMessage, res: ServerResponse) => void double.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
    return double;
  }

  get url(): string {
    const { address, port } = this.#server.address() as AddressInfo;
    return `${this.#scheme}://${address}:${port}`;
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  addToken(token: string, spec: TokenSpec = {}): void {
    const now = this.#now();
    const ttl = spec.ttl ?? 0;
    this.#tokens.set(token, {
      ttl, renewable: spec.renewable ?? true, policies: spec.policies ?? ['*'], namespace: spec.namespace ?? '',
      expiresAt: ttl ? now + ttl * 1000 : Infinity, maxExpiresAt: spec.maxTtl ? now + spec.maxTtl * 1000 : Infinity,
    });
  }

  tokenExpiresAt(token: string): number | undefined {
    return this.#tokens.get(token)?.expiresAt;
  }

  revokeToken(token: string): void {
    this.#tokens.delete(token);
  }

  /** The tokens AppRole logins have issued, oldest first. */
  get issuedTokens(): string[] {
    return [...this.#tokens.keys()].filter((t) => t.startsWith('hvs.approle.'));
  }

  mountKv(path: string, version: 1 | 2, namespace = ''): void {
    this.#mounts.set(`${namespace}|${path}/`, version === 1 ? { kind: 'kv1', entries: new Map() } : { kind: 'kv2', entries: new Map() });
  }

  mountDatabase(path: string, roles: Record<string, RoleSpec>, namespace = ''): void {
    this.#mounts.set(`${namespace}|${path}/`, { kind: 'database', roles: new Map(Object.entries(roles)) });
  }

  /** Writes a KV secret by its logical path (`secret/github`, no `data/`); returns its version. */
  putKv(path: string, fields: Fields, namespace = ''): number {
    const found = this.#mountOf(path, namespace);
    if (!found || found.mount.kind === 'database') throw new Error(`double: no KV mount holds ${path}`);
    if (found.mount.kind === 'kv1') {
      found.mount.entries.set(found.rest, { ...fields });
      return 0;
    }
    const versions = found.mount.entries.get(found.rest) ?? [];
    found.mount.entries.set(found.rest, [...versions, { ...fields }]);
    return versions.length + 1;
  }

  /** The newest KV v2 version of a logical path, with its number. */
  kv2(path: string, namespace = ''): { version: number; data: Fields } | undefined {
    const found = this.#mountOf(path, namespace);
    if (found?.mount.kind !== 'kv2') return undefined;
    const versions = found.mount.entries.get(found.rest) ?? [];
    return versions.length ? { version: versions.length, data: versions.at(-1)! } : undefined;
  }

  addAppRole(roleId: string, secretId: string, spec: TokenSpec = {}): void {
    this.#roles.set(roleId, { secretId, spec });
  }

  /** Whether a lease still stands by the double's clock (not expired, not revoked). */
  leaseAlive(id: string): boolean {
    const lease = this.#leases.get(id);
    return lease !== undefined && this.#now() < lease.expiresAt;
  }

  /** An operator's `vault lease revoke`, behind mcpd's back. */
  revokeLease(id: string): void {
    this.#leases.delete(id);
  }

  count(method: string, path: string): number {
    return this.calls.filter((c) => c.method === method && c.path === path).length;
  }

  /** Resolves once `n` recorded calls match; fails after `timeoutMs` rather than hanging the suite. */
  async waitForCalls(match: (call: Call) => boolean, n = 1, timeoutMs = 5000): Promise<void> {
    const done = () => this.calls.filter(match).length >= n;
    if (done()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`double: fewer than ${n} matching calls within ${timeoutMs} ms; calls: ${JSON.stringify(this.calls.slice(-10))}`)), timeoutMs);
      const check = () => {
        if (!done()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      this.#waiters.push(check);
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (this.stalled) return;
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    this.tokensSeen.push(String(req.headers['x-vault-token'] ?? ''));
    const location = this.redirect?.(req.url ?? '/', req.method ?? 'GET');
    if (location !== undefined) {
      res.writeHead(307, { location, 'content-type': 'text/html' }).end(`<a href="${location}">Temporary Redirect</a>.\n`);
      return;
    }
    const url = new URL(req.url ?? '/', 'http://double');
    const path = decodeURIComponent(url.pathname.replace(/^\/v1\//, ''));
    const namespace = String(req.headers['x-vault-namespace'] ?? '').replace(/^\/+|\/+$/g, '');
    const method = req.method ?? 'GET';
    let reply: Reply;
    try {
      const body: unknown = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : {};
      reply = this.#route(method, path, url.searchParams, namespace, String(req.headers['x-vault-token'] ?? ''), isObject(body) ? body : {});
    } catch (error) {
      reply = error instanceof Reply ? error : new Reply(500, { errors: [String(error)] });
    }
    this.calls.push({ method, path: path + url.search, namespace });
    res.writeHead(reply.status, reply.body === undefined ? {} : { 'content-type': 'application/json' });
    res.end(reply.body === undefined ? undefined : JSON.stringify(reply.body));
    this.#waiters = this.#waiters.filter((waiter) => !waiter());
  }

  #route(method: string, path: string, query: URLSearchParams, namespace: string, tokenText: string, body: Fields): Reply {
    if (this.sealed) return new Reply(503, { errors: ['Vault is sealed'] });
    const now = this.#now();
    const writes = method === 'POST' || method === 'PUT';
    const login = /^auth\/([^/]+)\/login$/.exec(path);
    if (login && login[1] !== 'token' && writes) return this.#login(body, namespace);
    const token = this.#tokens.get(tokenText);
    if (!token || now >= token.expiresAt || (token.namespace && token.namespace !== namespace)) return denied();

    if (path === 'auth/token/lookup-self' && method === 'GET') {
      const ttl = token.expiresAt === Infinity ? 0 : Math.floor((token.expiresAt - now) / 1000);
      return new Reply(200, { data: { ttl, renewable: token.renewable, policies: token.policies, expire_time: ttl ? new Date(token.expiresAt).toISOString() : null } });
    }
    if (path === 'auth/token/renew-self' && writes) {
      if (!token.renewable) return new Reply(400, { errors: ['lease is not renewable'] });
      token.expiresAt = Math.min(now + (Number(body.increment) || token.ttl) * 1000, token.maxExpiresAt);
      const ttl = Math.floor((token.expiresAt - now) / 1000);
      return new Reply(200, { auth: { client_token: tokenText, lease_duration: ttl, renewable: token.renewable, policies: token.policies } });
    }
    if (path === 'sys/leases/renew' && writes) {
      const id = String(body.lease_id ?? '');
      const lease = this.#leases.get(id);
      if (!lease || now >= lease.expiresAt) return new Reply(400, { errors: ['lease not found'] });
      if (!lease.renewable) return new Reply(400, { errors: ['lease is not renewable'] });
      lease.expiresAt = Math.min(now + (Number(body.increment) || lease.ttl) * 1000, lease.maxExpiresAt);
      return new Reply(200, { lease_id: id, renewable: true, lease_duration: Math.floor((lease.expiresAt - now) / 1000) });
    }
    if (path === 'sys/leases/revoke' && writes) {
      const id = String(body.lease_id ?? '');
      if (this.#leases.delete(id)) this.revoked.push(id);
      return new Reply(204);
    }
    if (path.startsWith('sys/internal/ui/mounts/') && method === 'GET') {
      const found = this.#mountOf(path.slice('sys/internal/ui/mounts/'.length), namespace);
      if (!found) return missing();
      const type = found.mount.kind === 'database' ? 'database' : 'kv';
      const options = found.mount.kind === 'database' ? null : { version: found.mount.kind === 'kv2' ? '2' : '1' };
      return new Reply(200, { data: { path: found.path, type, options } });
    }
    if (!token.policies.some((p) => p === '*' || path.startsWith(p))) return denied();
    const found = this.#mountOf(path, namespace);
    if (!found) return missing();
    const { mount, rest } = found;
    if (mount.kind === 'kv1') {
      if (method === 'GET') {
        const fields = mount.entries.get(rest);
        return fields ? new Reply(200, { lease_id: '', renewable: false, lease_duration: 2764800, data: fields }) : missing();
      }
      if (!writes) return missing();
      mount.entries.set(rest, { ...body });
      return new Reply(204);
    }
    if (mount.kind === 'kv2') return this.#kv2(mount.entries, `${found.path}${rest}`, rest, method, query, body);
    const role = /^creds\/([^/]+)$/.exec(rest);
    if (!role || method !== 'GET') return missing();
    const spec = mount.roles.get(role[1]!);
    if (!spec) return new Reply(400, { errors: [`unknown role: ${role[1]}`] });
    const id = `${path}/${randomBytes(8).toString('hex')}`;
    this.#leases.set(id, {
      ttl: spec.ttl, renewable: spec.renewable ?? true, expiresAt: now + spec.ttl * 1000,
      maxExpiresAt: spec.maxTtl ? now + spec.maxTtl * 1000 : Infinity,
    });
    const data = { username: `v-${role[1]}-${randomBytes(4).toString('hex')}`, password: `pw-${randomBytes(12).toString('hex')}` };
    this.issued.push({ leaseId: id, ...data });
    return new Reply(200, { lease_id: id, lease_duration: spec.ttl, renewable: spec.renewable ?? true, data });
  }

  #kv2(entries: Map<string, Fields[]>, full: string, rest: string, method: string, query: URLSearchParams, body: Fields): Reply {
    if (!rest.startsWith('data/')) return missing();
    const key = rest.slice('data/'.length);
    const versions = entries.get(key) ?? [];
    if (method === 'GET') {
      const version = query.has('version') ? Number(query.get('version')) : versions.length;
      const fields = versions[version - 1];
      if (!fields) return missing();
      const metadata = { version, created_time: new Date(this.#now()).toISOString(), deletion_time: '', destroyed: false, custom_metadata: null };
      return new Reply(200, { lease_id: '', renewable: false, lease_duration: 0, data: { data: fields, metadata } });
    }
    if (method !== 'POST' && method !== 'PUT') return missing();
    if (!isObject(body.data)) return new Reply(400, { errors: ['no data provided'] });
    this.beforeKvWrite?.(full);
    const current = (entries.get(key) ?? []).length;
    const cas = isObject(body.options) ? body.options.cas : undefined;
    if (cas !== undefined && cas !== current) return new Reply(400, { errors: ['check-and-set parameter did not match the current version'] });
    entries.set(key, [...(entries.get(key) ?? []), { ...body.data }]);
    return new Reply(200, { data: { version: current + 1, created_time: new Date(this.#now()).toISOString(), deletion_time: '', destroyed: false } });
  }

  #login(body: Fields, namespace: string): Reply {
    const role = this.#roles.get(String(body.role_id ?? ''));
    if (!role || role.secretId !== body.secret_id) return new Reply(400, { errors: ['invalid role or secret ID'] });
    const token = `hvs.approle.${randomBytes(8).toString('hex')}`;
    this.addToken(token, { ...role.spec, namespace: role.spec.namespace ?? namespace });
    const spec = this.#tokens.get(token)!;
    return new Reply(200, { auth: { client_token: token, policies: spec.policies, lease_duration: spec.ttl, renewable: spec.renewable } });
  }

  /** The mount holding `path` in `namespace`: the longest mount path that prefixes it. */
  #mountOf(path: string, namespace: string): { mount: Mount; path: string; rest: string } | undefined {
    let best: { mount: Mount; path: string; rest: string } | undefined;
    for (const [key, mount] of this.#mounts) {
      const [ns, mountPath] = key.split('|') as [string, string];
      if (ns !== namespace || !`${path}/`.startsWith(mountPath)) continue;
      if (!best || mountPath.length > best.path.length) best = { mount, path: mountPath, rest: path.slice(mountPath.length) };
    }
    return best;
  }
}
