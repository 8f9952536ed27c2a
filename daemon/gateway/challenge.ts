/**
 * What a 401 from the HTTP endpoint tells the client about how to authenticate
 * (RFC 9110 `WWW-Authenticate`): mcpd's client tokens are bearer tokens.
 */

/** The WWW-Authenticate header of a refusal with `status`, or undefined when it is not a 401. */
export function challenge(status: number): string | undefined {
  return status === 401 ? 'Bearer realm="mcpd"' : undefined;
}
