/** How a consent is shown outside the page: to `mcpd auth pending` and in the audit log (never its key or a code). */
import type { AuditEvent } from '../../audit/events.js';
import type { PendingConsent } from '../../protocol.js';
import type { Consent } from './issuer.js';

/** A consent as `mcpd auth pending` lists it. */
export function pendingOf(consent: Consent): PendingConsent {
  const { ask } = consent;
  return { id: consent.id, client: ask.clientName, redirectUri: ask.redirectUri, resource: ask.resource, scopes: ask.scopes, roles: ask.roles, createdAt: new Date(consent.createdAt).toISOString(), decision: consent.decision };
}

/** The audit line of a decided consent; the line's subject is who decided. */
export function consentEvent(consent: Consent): AuditEvent {
  return { event: 'oauth.consent', request: consent.id, decision: consent.decision, client: consent.ask.clientName, redirectUri: consent.ask.redirectUri, resource: consent.ask.resource };
}
