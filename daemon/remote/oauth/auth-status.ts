/** What `mcpd auth status` shows of a url server's sign-in: how, until when, with which scopes; never a token. */
export interface AuthStatus {
  readonly server: string;
  readonly url: string;
  /** oauth: mcpd signs in; token: one the user gave; headers: the config's Authorization header; none: `"oauth": false` and no header. */
  readonly method: 'oauth' | 'token' | 'headers' | 'none';
  readonly state: 'signed-in' | 'signed-out' | 'expired' | 'pending';
  readonly issuer?: string;
  readonly scopes?: readonly string[];
  /** When the access token expires (ISO time); a refresh token renews it before then. */
  readonly expiresAt?: string;
  readonly lastRefresh?: string;
  readonly client?: 'registered' | 'metadata-document' | 'configured';
}
