/**
 * How a refusal reads on the wire, for the WebSocket routes and the HTTP endpoint alike: an
 * HTTP status chosen by the McpdError's code, and a JSON ErrorBody with its code, message and hint.
 */
import { McpdError, type ErrorCode } from '../../core/errors.js';
import type { ErrorBody } from '../protocol.js';

const STATUS_BY_CODE: Partial<Record<ErrorCode, number>> = {
  SERVER_UNKNOWN: 404,
  NOT_FOUND: 404,
  USAGE: 400,
  REFUSED: 403,
  TOKEN_REQUIRED: 401,
  TOKEN_INVALID: 401,
  SCOPE_MISSING: 403,
  SCOPE_INSUFFICIENT: 403,
  JWT_INVALID: 401,
  PROXY_UNTRUSTED: 403,
  USER_INVALID: 401,
  SESSION_LIMIT: 429,
  RATE_LIMITED: 429,
  DAEMON_STOPPING: 503,
};

/** The body of a refusal; an error that is not an McpdError is an internal one. */
export function errorBody(error: unknown): ErrorBody {
  const e = error instanceof McpdError ? error : new McpdError('INTERNAL', `internal error: ${error instanceof Error ? error.message : String(error)}`);
  return { error: { code: e.code, message: e.message, ...(e.hint ? { hint: e.hint } : {}) } };
}

/** The HTTP status of a refusal's body. */
export function statusOf(body: ErrorBody): number {
  return STATUS_BY_CODE[body.error.code] ?? (body.error.code === 'INTERNAL' ? 500 : 503);
}

/** Whether a refusal carries `WWW-Authenticate`: every 401, and the 403 of a token short of a scope (RFC 6750 insufficient_scope). */
export function challenged(error: unknown, status: number): error is McpdError {
  return error instanceof McpdError && (status === 401 || error.code === 'SCOPE_INSUFFICIENT');
}
