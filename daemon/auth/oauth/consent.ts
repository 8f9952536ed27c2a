/**
 * The consent page: an authorization request waits here until the owner approves or denies it,
 * on this page (with an owner credential: a client token holding `admin`) or on the owner-only
 * socket (`mcpd auth approve ID`). The page names the client as it registered, where the code
 * goes and what it asked for. It cannot be framed, and its form is refused from another site:
 * the POST must come from this origin (Origin, Sec-Fetch-Site) and carry the request's own key,
 * which only the browser that asked was given.
 */
import type { Request, Response } from 'express';
import type { Principal } from '../scopes.js';
import { type Consent, type OAuthIssuer } from './issuer.js';

export const CONSENT_PATH = '/oauth/consent';

export interface ConsentDeps {
  readonly issuer: OAuthIssuer;
  /** Who an owner credential is (a token holding admin), or a reason it is not one. */
  readonly owner: (token: string) => { ok: true; who: Principal } | { ok: false; why: string };
  /** A decision and who made it, for the audit log (no token, no code). */
  readonly decided: (consent: Consent, by: Principal) => void;
}

/** GET: the page while the request waits; the redirect to the client once decided (its Continue link, after `mcpd auth approve`). */
export function showConsent(deps: ConsentDeps, req: Request, res: Response): void {
  const consent = deps.issuer.consent(String(req.query.id ?? ''), String(req.query.k ?? ''));
  if (!consent) return void page(res, 404, 'No such request', '<p>This authorization request is unknown, expired, or already answered. Start again from the application.</p>');
  if (consent.decision !== 'pending') return finish(deps, consent, res);
  page(res, 200, 'Authorize access', form(consent), consent);
}

/** POST: the owner's decision from the page. */
export function decideConsent(deps: ConsentDeps, req: Request, res: Response): void {
  const crossSite = fromAnotherSite(req);
  if (crossSite) return void page(res, 403, 'Refused', `<p>${escape(crossSite)}</p>`);
  const body = req.body ?? {};
  const consent = deps.issuer.consent(String(body.id ?? ''), String(body.k ?? ''));
  if (!consent) return void page(res, 403, 'Refused', '<p>This form does not belong to a waiting authorization request (expired, answered, or not sent from its page).</p>');
  if (consent.decision === 'pending') {
    const owner = deps.owner(String(body.owner_token ?? '').trim());
    if (!owner.ok) return void page(res, 403, 'Not the owner', `<p>${escape(owner.why)}</p>${form(consent)}`, consent);
    deps.issuer.decide(consent.id, body.action === 'approve', owner.who.subject);
    deps.decided(consent, owner.who);
  }
  finish(deps, consent, res);
}

/** Why a POST is not from this page's own origin, or undefined when it is. */
function fromAnotherSite(req: Request): string | undefined {
  const site = req.headers['sec-fetch-site'];
  if (site !== undefined && site !== 'same-origin') return `a form sent from another site (Sec-Fetch-Site: ${site}) cannot answer an authorization request`;
  const origin = req.headers.origin;
  const own = `${'encrypted' in req.socket && req.socket.encrypted ? 'https' : 'http'}://${req.headers.host ?? ''}`;
  if (origin !== undefined && origin !== own) return `a form sent from ${origin} cannot answer an authorization request of ${own}`;
  return undefined;
}

/** Sends the browser back to the client: a code (once) or access_denied (RFC 6749 §4.1.2). */
function finish(deps: ConsentDeps, consent: Consent, res: Response): void {
  const target = new URL(consent.ask.redirectUri);
  if (consent.decision === 'approved') {
    target.searchParams.set('code', deps.issuer.codeFor(consent));
  } else {
    deps.issuer.drop(consent);
    target.searchParams.set('error', 'access_denied');
    target.searchParams.set('error_description', 'the owner denied the request');
  }
  if (consent.ask.state !== undefined) target.searchParams.set('state', consent.ask.state);
  res.setHeader('Cache-Control', 'no-store');
  res.redirect(302, target.href);
}

function form(consent: Consent): string {
  const { ask } = consent;
  const scopes = ask.scopes.length ? ask.scopes.map((s) => `<li><code>${escape(s)}</code></li>`).join('') : '<li>(no scopes named)</li>';
  const roles = ask.roles.length ? ask.roles.map(escape).join(', ') : 'none (it could open nothing)';
  return `<p><strong id="client">${escape(ask.clientName)}</strong> asks for access to <code id="resource">${escape(ask.resource)}</code>.</p>
<p>The authorization goes to <code id="redirect">${escape(ask.redirectUri)}</code>.</p>
<p>Scopes asked:</p><ul id="scopes">${scopes}</ul>
<p>Roles the token gives: <span id="roles">${roles}</span>. Request <code id="request">${consent.id}</code>: the owner may also answer with <code>mcpd auth approve ${consent.id}</code>.</p>
<form method="post" action="/oauth/consent">
<input type="hidden" name="id" value="${consent.id}"><input type="hidden" name="k" value="${escape(consent.key)}">
<label>Owner token (a client token with admin): <input type="password" name="owner_token" autocomplete="off"></label>
<button type="submit" name="action" value="approve">Approve</button> <button type="submit" name="action" value="deny">Deny</button>
</form>
<p>Answered with <code>mcpd auth approve</code> or <code>deny</code>? <a id="continue" href="${CONSENT_PATH}?id=${consent.id}&amp;k=${escape(consent.key)}">Continue</a>.</p>`;
}

/** A page of mcpd's; `waiting`, the consent its form answers. It does not reload by itself: that would wipe a token being typed. */
function page(res: Response, status: number, title: string, body: string, waiting?: Consent): void {
  res.status(status);
  res.setHeader('Content-Type', 'text/html; charset=utf-8');
  res.setHeader('Cache-Control', 'no-store');
  // Never framed (clickjacking); nothing else loads; the form posts here, and its answer redirects to the client (form-action covers redirects).
  const formAction = waiting ? `'self' ${new URL(waiting.ask.redirectUri).origin}` : "'self'";
  res.setHeader('Content-Security-Policy', `default-src 'none'; style-src 'unsafe-inline'; form-action ${formAction}; frame-ancestors 'none'; base-uri 'none'`);
  res.setHeader('X-Frame-Options', 'DENY');
  // same-origin, not no-referrer: under no-referrer the browser sends the form's POST with `Origin: null`.
  res.setHeader('Referrer-Policy', 'same-origin');
  res.send(`<!doctype html><html><head><meta charset="utf-8"><title>mcpd: ${escape(title)}</title></head><body><h1>mcpd: ${escape(title)}</h1>${body}</body></html>`);
}

function escape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
