/**
 * An OAuth authorization server that issues JWT access tokens: a test DOUBLE for the `jwt`
 * provider, on 127.0.0.1 (port 0). Its keys are made with jose; it serves its RFC 8414 metadata
 * (or only OpenID discovery, with `discovery: 'openid'`), its JWKS, and a token endpoint for
 * the client_credentials grant (client_secret_basic) that makes a token for the RFC 8707
 * `resource` asked for, so the SDK's own client can find it and get a token by itself.
 *
 * `mint` signs any claims a test wants (expired, another audience…); `rotate` replaces its
 * signing key with a new one under a new kid, as an authorization server's key rotation does.
 * Every token it hands out is kept, so tests can search mcpd's folders for them.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { webcrypto } from 'node:crypto';
import { exportJWK, generateKeyPair, type JWTPayload, SignJWT } from 'jose';

type Key = { readonly kid: string; readonly privateKey: webcrypto.CryptoKey; readonly publicJwk: Record<string, unknown> };

export interface JwtIssuerOptions {
  /** 'oauth' (default): RFC 8414 metadata; 'openid': only /.well-known/openid-configuration. */
  readonly discovery?: 'oauth' | 'openid';
  /** The client of the token endpoint (client_credentials). Default mcp-client / mcp-secret. */
  readonly client?: { readonly id: string; readonly secret: string };
  /** Claims every token carries unless `mint` overrides them (roles…). */
  readonly claims?: JWTPayload;
}

let kids = 0;

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const kid = `key-${++kids}`;
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' } };
}

export class JwtIssuer {
  /** How many times the JWKS was fetched. */
  jwksFetches = 0;
  /** Every token handed out or minted. */
  readonly issued: string[] = [];
  #key: Key;
  readonly #server: Server;
  readonly #options: JwtIssuerOptions;

  private constructor(readonly issuer: string, server: Server, key: Key, options: JwtIssuerOptions) {
    this.#server = server;
    this.#key = key;
    this.#options = options;
  }

  /** Starts the double on a loopback port. */
  static async start(options: JwtIssuerOptions = {}): Promise<JwtIssuer> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const issuer = new JwtIssuer(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, await newKey(), options);
    server.on('request', (req, res) => void issuer.#serve(req, res));
    return issuer;
  }

  get jwksUri(): string {
    return `${this.issuer}/jwks`;
  }

  /** The kid tokens are signed with now. */
  get kid(): string {
    return this.#key.kid;
  }

  /**
   * A token for `aud`, signed with the current key (or `key`), valid from now for `seconds`
   * (negative: already expired); `claims` override any default (iss, sub, nbf, exp…).
   */
  async mint(aud: string | string[], claims: JWTPayload = {}, options: { seconds?: number; key?: Key } = {}): Promise<string> {
    const key = options.key ?? this.#key;
    const now = Math.floor(Date.now() / 1000);
    const payload: JWTPayload = { iss: this.issuer, sub: 'alice', aud, iat: now, exp: now + (options.seconds ?? 300), ...this.#options.claims, ...claims };
    const token = await new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: 'at+jwt' }).sign(key.privateKey);
    this.issued.push(token);
    return token;
  }

  /** A key this issuer never publishes (a token signed with it is a forgery). */
  static foreignKey(): Promise<Key> {
    return newKey();
  }

  /** Signs with a new key from now on; the JWKS publishes only it. */
  async rotate(): Promise<void> {
    this.#key = await newKey();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
  }

  async #serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const json = (status: number, body: unknown): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    const metadata = {
      // An authorization endpoint is named (the SDK's client requires one) but not served: only client_credentials is.
      issuer: this.issuer, jwks_uri: this.jwksUri, token_endpoint: `${this.issuer}/token`, authorization_endpoint: `${this.issuer}/authorize`,
      grant_types_supported: ['client_credentials'], token_endpoint_auth_methods_supported: ['client_secret_basic'], response_types_supported: ['code'],
    };
    const discovery = this.#options.discovery ?? 'oauth';
    if (req.url === '/.well-known/oauth-authorization-server' && discovery === 'oauth') return json(200, metadata);
    if (req.url === '/.well-known/openid-configuration' && discovery === 'openid') return json(200, metadata);
    if (req.url === '/jwks') {
      this.jwksFetches++;
      return json(200, { keys: [this.#key.publicJwk] });
    }
    if (req.url === '/token' && req.method === 'POST') return json(...await this.#token(req));
    json(404, { error: 'not_found' });
  }

  /** The client_credentials grant: a token for the `resource` asked for, with the `scope` asked for. */
  async #token(req: IncomingMessage): Promise<[number, unknown]> {
    let body = '';
    for await (const chunk of req.setEncoding('utf8')) body += chunk as string;
    const form = new URLSearchParams(body);
    const client = this.#options.client ?? { id: 'mcp-client', secret: 'mcp-secret' };
    const basic = `Basic ${Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64')}`;
    if (req.headers.authorization !== basic) return [401, { error: 'invalid_client' }];
    if (form.get('grant_type') !== 'client_credentials') return [400, { error: 'unsupported_grant_type' }];
    const resource = form.get('resource');
    if (!resource) return [400, { error: 'invalid_target', error_description: 'a resource (RFC 8707) is required' }];
    const scope = form.get('scope') ?? '';
    const token = await this.mint(resource, { sub: client.id, scope });
    return [200, { access_token: token, token_type: 'Bearer', expires_in: 300, scope }];
  }
}
