/**
 * The one error type mcpd raises. Every message names its subject (a config path, a reference,
 * a server, a file) and `hint` says what to do. A message never contains a secret value:
 * references are named by their text (`${secret:github/pat}`), never by what they resolve to.
 *
 * Codes are listed with their meaning in docs/errors.md; the CLI maps them to exit codes in
 * core/exit-codes.ts and nowhere else.
 */
export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_NOT_FOUND'
  | 'CONFIG_SYNTAX'
  | 'CONFIG_INVALID'
  | 'SERVER_UNKNOWN'
  | 'REF_MALFORMED'
  | 'PROVIDER_UNKNOWN'
  | 'PROVIDER_UNSUPPORTED'
  | 'PROVIDER_UNAVAILABLE'
  | 'PROVIDER_FAILED'
  | 'PROVIDER_TIMEOUT'
  | 'SECRET_NOT_FOUND'
  | 'SECRET_EMPTY'
  | 'SECRET_UNRESOLVED'
  | 'SECRET_CONFLICT'
  | 'ROTATION_FAILED'
  | 'ENV_UNSET'
  | 'STORE_KEY_WRONG'
  | 'STORE_KEY_MISSING'
  | 'STORE_CORRUPT'
  | 'STORE_LOCKED'
  | 'STORE_MISSING'
  | 'SPAWN_FAILED'
  | 'REMOTE_UNREACHABLE'
  | 'REMOTE_TLS'
  | 'REMOTE_NOT_MCP'
  | 'REMOTE_UNAUTHORIZED'
  | 'REMOTE_FAILED'
  | 'OAUTH_FAILED'
  | 'OAUTH_NO_PKCE'
  | 'OAUTH_TIMEOUT'
  | 'OAUTH_CALLBACK_PORT'
  | 'AUTH_TOKEN_NEEDED'
  | 'DAEMON_UNREACHABLE'
  | 'DAEMON_RUNNING'
  | 'DAEMON_STOPPING'
  | 'SOCKET_UNSAFE'
  | 'NOT_FOUND'
  | 'FILE_CHANGED'
  | 'SESSION_CLOSED'
  | 'REFUSED'
  | 'TOKEN_REQUIRED'
  | 'TOKEN_INVALID'
  | 'SCOPE_MISSING'
  | 'SCOPE_INSUFFICIENT'
  | 'JWT_INVALID'
  | 'ISSUER_UNREACHABLE'
  | 'PROXY_UNTRUSTED'
  | 'USER_INVALID'
  | 'SESSION_LIMIT'
  | 'RATE_LIMITED'
  | 'SCOPE_UNKNOWN'
  | 'TOKEN_EXISTS'
  | 'TOKEN_UNKNOWN'
  | 'POLICY_DENIED'
  | 'ROLLOVER_FAILED'
  | 'INTERNAL';

export interface McpdErrorOptions {
  /** What the user should do about it, in one sentence. */
  hint?: string;
  cause?: unknown;
  /** Errors this one summarises (e.g. every reference of a launch that failed). */
  errors?: McpdError[];
}

export class McpdError extends Error {
  override readonly name = 'McpdError';
  readonly code: ErrorCode;
  readonly hint: string | undefined;
  readonly errors: McpdError[];

  constructor(code: ErrorCode, message: string, options: McpdErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.hint = options.hint;
    this.errors = options.errors ?? [];
  }

  /** The text a user sees: the message, then the hint on its own line. */
  format(): string {
    return this.hint ? `${this.message}\n  hint: ${this.hint}` : this.message;
  }
}

export function isMcpdError(value: unknown): value is McpdError {
  return value instanceof McpdError;
}

/** Wraps an unexpected throw so that callers only ever see McpdError. */
export function asMcpdError(error: unknown, context: string): McpdError {
  if (error instanceof McpdError) return error;
  const detail = error instanceof Error ? error.message : String(error);
  return new McpdError('INTERNAL', `${context}: ${detail}`, {
    cause: error,
    hint: 'this is a bug in mcpd; please report it with the command you ran',
  });
}
