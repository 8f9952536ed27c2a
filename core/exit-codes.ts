/**
 * The one place error codes become exit codes (docs/errors.md):
 * 0 ok, 1 generic, 2 usage/config, 3 secret unresolved, 4 daemon unreachable, 5 refused;
 * `run` exits with the server's own code.
 */
import type { ErrorCode } from './errors.js';

export const EXIT = { ok: 0, generic: 1, usage: 2, unresolved: 3, unreachable: 4, refused: 5 } as const;

const byCode: Record<ErrorCode, number> = {
  USAGE: EXIT.usage,
  CONFIG_NOT_FOUND: EXIT.usage,
  CONFIG_SYNTAX: EXIT.usage,
  CONFIG_INVALID: EXIT.usage,
  SERVER_UNKNOWN: EXIT.usage,
  REF_MALFORMED: EXIT.usage,
  PROVIDER_UNKNOWN: EXIT.usage,
  PROVIDER_UNSUPPORTED: EXIT.usage,
  PROVIDER_UNAVAILABLE: EXIT.unresolved,
  PROVIDER_FAILED: EXIT.unresolved,
  PROVIDER_TIMEOUT: EXIT.unresolved,
  SECRET_NOT_FOUND: EXIT.unresolved,
  SECRET_EMPTY: EXIT.unresolved,
  SECRET_UNRESOLVED: EXIT.unresolved,
  SECRET_CONFLICT: EXIT.generic,
  ROTATION_FAILED: EXIT.generic,
  ENV_UNSET: EXIT.unresolved,
  STORE_KEY_WRONG: EXIT.unresolved,
  STORE_KEY_MISSING: EXIT.unresolved,
  STORE_CORRUPT: EXIT.unresolved,
  STORE_LOCKED: EXIT.unresolved,
  STORE_MISSING: EXIT.unresolved,
  SPAWN_FAILED: EXIT.generic,
  REMOTE_UNREACHABLE: EXIT.generic,
  REMOTE_TLS: EXIT.generic,
  REMOTE_NOT_MCP: EXIT.usage,
  REMOTE_UNAUTHORIZED: EXIT.refused,
  REMOTE_FAILED: EXIT.generic,
  OAUTH_FAILED: EXIT.refused,
  OAUTH_NO_PKCE: EXIT.refused,
  OAUTH_TIMEOUT: EXIT.refused,
  OAUTH_CALLBACK_PORT: EXIT.generic,
  AUTH_TOKEN_NEEDED: EXIT.refused,
  DAEMON_UNREACHABLE: EXIT.unreachable,
  DAEMON_RUNNING: EXIT.generic,
  DAEMON_STOPPING: EXIT.unreachable,
  SOCKET_UNSAFE: EXIT.usage,
  NOT_FOUND: EXIT.usage,
  FILE_CHANGED: EXIT.generic,
  SESSION_CLOSED: EXIT.unreachable,
  REFUSED: EXIT.refused,
  TOKEN_REQUIRED: EXIT.refused,
  TOKEN_INVALID: EXIT.refused,
  SCOPE_MISSING: EXIT.refused,
  SCOPE_INSUFFICIENT: EXIT.refused,
  JWT_INVALID: EXIT.refused,
  ISSUER_UNREACHABLE: EXIT.generic,
  PROXY_UNTRUSTED: EXIT.refused,
  USER_INVALID: EXIT.refused,
  SESSION_LIMIT: EXIT.refused,
  RATE_LIMITED: EXIT.refused,
  SCOPE_UNKNOWN: EXIT.usage,
  TOKEN_EXISTS: EXIT.usage,
  TOKEN_UNKNOWN: EXIT.usage,
  POLICY_DENIED: EXIT.refused,
  ROLLOVER_FAILED: EXIT.generic,
  INTERNAL: EXIT.generic,
};

export function exitCodeFor(code: ErrorCode): number {
  return byCode[code];
}
