/**
 * Where a request to a remote server gets its credentials: the one place, asked on every
 * request to the server's own origin (origin-fetch.ts), as x/oauth2's TokenSource is. Static
 * headers from the config are one source; a server's OAuth sign-in (oauth/server-auth.ts) is
 * another, renewing its token behind this same call so a connection never needs to be re-made.
 */
export interface TokenSource {
  /** The headers the next request to the server's origin carries. */
  headers(): Promise<Readonly<Record<string, string>>>;
  /**
   * The server answered 401 or 403 to a request that carried `sent` as its Authorization:
   * true when credentials were renewed and the request is worth sending once more.
   */
  refused?(response: Response, sent: string | undefined): Promise<boolean>;
}

/** The `headers` of a url server, resolved once per connection (a changed reference rolls the session). */
export function staticHeaders(values: Readonly<Record<string, string>>): TokenSource {
  const fixed = Promise.resolve(values);
  return { headers: () => fixed };
}

/** The config's headers, with a sign-in's Authorization added to them. */
export function withSignIn(fixed: Readonly<Record<string, string>>, signIn: TokenSource): TokenSource {
  return {
    headers: async () => ({ ...fixed, ...(await signIn.headers()) }),
    refused: signIn.refused?.bind(signIn),
  };
}
