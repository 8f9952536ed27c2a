/**
 * Where a request to a remote server gets its credentials: the one place, asked on every
 * request to the server's own origin (origin-fetch.ts), as x/oauth2's TokenSource is. Static
 * headers from the config are one source; an OAuth session (not built yet) will be another,
 * refreshing its token behind this same call so a connection never needs to be re-made.
 */
export interface TokenSource {
  /** The headers the next request to the server's origin carries. */
  headers(): Promise<Readonly<Record<string, string>>>;
}

/** The `headers` of a url server, resolved once per connection (a changed reference rolls the session). */
export function staticHeaders(values: Readonly<Record<string, string>>): TokenSource {
  const fixed = Promise.resolve(values);
  return { headers: () => fixed };
}
