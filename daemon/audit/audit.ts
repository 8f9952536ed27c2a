/**
 * The audit log: JSON lines in `audit.log` in the state dir, a RotatingFile capped at
 * `daemon.audit` (it becomes `audit.log.1` when a line would take it past `maxBytes`, `keep`
 * old files kept). Writes are synchronous, so an event is on disk before the request it
 * records is answered, and the last ones before a crash are kept.
 *
 * Every line names who it is about (README "Audit log"): the subject and roles of the principal
 * whose session or request it records, `mcpd` for what the daemon does on its own (rotation,
 * warm pool fills), `unauthenticated` for refusals before anyone is known. An Audit is had
 * only through `by(actor)`, so no line can be written without one.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Clock } from '../../core/clock.js';
import { type FileLimits, RotatingFile } from '../rotating-file.js';
import type { Actor, AuditEvent, RotationStep } from './events.js';

/** The audit log as one actor writes to it. */
export interface Audit {
  record(event: AuditEvent): void;
}

/** What the daemon does on its own: a rotation's steps, a warm pool's starts. */
export const MCPD: Actor = { subject: 'mcpd', roles: [] };

/** A refusal before any principal is known (the peer is in the line). */
export const UNAUTHENTICATED: Actor = { subject: 'unauthenticated', roles: [] };

/** Where Audits come from: one per actor. */
export interface AuditSink {
  by(actor: Actor): Audit;
}

export interface AuditOptions extends FileLimits {
  readonly clock: Clock;
}

export const AUDIT_FILE = 'audit.log';

export function auditPath(stateDir: string): string {
  return join(stateDir, AUDIT_FILE);
}

export class AuditLog implements AuditSink {
  readonly #file: RotatingFile;
  readonly #clock: Clock;

  constructor(stateDir: string, options: AuditOptions) {
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    this.#file = new RotatingFile(auditPath(stateDir), options);
    this.#clock = options.clock;
  }

  by(actor: Actor): Audit {
    // Copied: a principal holds more than the log may show (a token's scopes stay out).
    const who = { subject: actor.subject, roles: [...actor.roles] };
    // The actor last: no event's field can stand in for who the line is about (events.ts checks it at compile time too).
    return { record: (event) => this.#file.write(`${JSON.stringify({ time: new Date(this.#clock.now()).toISOString(), ...event, ...who })}\n`) };
  }

  close(): void {
    this.#file.close();
  }
}

/** Records one step of a rotation (the scheduler calls this; rotation is a later issue). */
export function recordRotationStep(audit: Audit, secret: string, step: RotationStep, detail?: string): void {
  audit.record({ event: 'rotation.step', secret, step, ...(detail === undefined ? {} : { detail }) });
}
