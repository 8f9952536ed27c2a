/**
 * What the audit log records (README "Tool policy" and "Audit log"). Names, references, pids, codes
 * and durations only: never a secret value, never a token, never tool arguments or results.
 */

/** Who a line is about: a Principal's subject and roles, or mcpd itself (audit.ts). */
export interface Actor {
  readonly subject: string;
  readonly roles: readonly string[];
}

/** A step of a rotation's journal (README "Rotation"), or a failed attempt at one. */
export type RotationStep = 'pending' | 'stored' | 'applied' | 'rolled' | 'old-revoked' | 'done' | 'failed';

export type AuditEvent =
  | { event: 'session.open'; session: string; server: string; client: string | undefined; token: string | undefined; pid: number | undefined }
  | { event: 'session.close'; session: string; server: string; reason?: string | undefined }
  | { event: 'tool.call'; session: string; server: string; tool: string; outcome: 'ok' | 'error' | 'tool-error' | 'unanswered'; durationMs: number }
  | { event: 'call.denied'; session: string; server: string; method: string; name: string; rule: string }
  | { event: 'secret.resolved'; session: string; server: string; ref: string; provider: string }
  | { event: 'token.used'; token: string; route: string }
  /** The first refusal from a peer on a listener; the rest of an interval's are one line with their `count` (see RefusalTally). */
  | { event: 'token.refused'; listener: string; peer: string; route: string; code: string; reason: string }
  | { event: 'token.refused'; listener: string; peer: string; count: number; seconds: number; codes: Record<string, number> }
  /** A subject's request (`rate.limited`) or session (`session.limited`) refused for its limit: the first at once, then one line a minute with the `count` since the last (limit-notes.ts). */
  | { event: 'rate.limited' | 'session.limited'; server: string; count: number; seconds?: number; limit: number; setting: string }
  | { event: 'token.created'; token: string; scopes: readonly string[]; tokenRoles?: readonly string[]; expiresAt: string | undefined }
  | { event: 'token.revoked'; token: string; sessionsClosed?: number }
  /** The owner's answer to an authorization request of mcpd's own authorization server. */
  | { event: 'oauth.consent'; request: string; decision: string; client: string; redirectUri: string; resource: string }
  | { event: 'rotation.step'; secret: string; step: RotationStep; detail?: string };

export type AuditEventName = AuditEvent['event'];

/** An event's keys that would take the place of the line's `subject` and `roles` (who the line is about). */
type ActorClash = { [K in AuditEventName]: Extract<keyof Extract<AuditEvent, { event: K }>, keyof Actor> }[AuditEventName];

/** Fails to compile when an event carries `subject` or `roles` of its own: name such a field otherwise (a created token's roles are not who created it). */
export const EVENTS_LEAVE_ACTOR_KEYS: [ActorClash] extends [never] ? true : never = true;

/** One line of the file: the event with its time and who it is about. */
export type AuditLine = AuditEvent & { time: string; subject: string; roles: string[] };
