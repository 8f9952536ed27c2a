/**
 * The authorization server's HTTP side: the SDK's router (metadata, registration, authorize,
 * token, revocation) and the consent page, as one express app per issuer URL. Loaded only when
 * a listener has an `oauth` provider: it imports the vendored SDK and express (sdk-auth.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NextFunction, Request, Response } from 'express';
import { CONSENT_PATH, type ConsentDeps, decideConsent, showConsent } from './consent.js';
import { type IssuerSettings, serverProvider } from './server-provider.js';

/** The paths the authorization server answers on a listener; the rest are the gateway's and the WebSocket's. */
const PATHS = new Set(['/.well-known/oauth-authorization-server', '/authorize', '/token', '/register', '/revoke', CONSENT_PATH]);

/** Whether `path` (without its query) is one of the authorization server's. */
export function isAuthServerPath(path: string): boolean {
  return PATHS.has(path);
}

export type AuthServerApp = (req: IncomingMessage, res: ServerResponse) => void;

/** The app serving `settings.issuer`; `note` logs a failure (never a value). */
export async function createAuthServerApp(settings: IssuerSettings, consent: ConsentDeps, note: (error: unknown) => void): Promise<AuthServerApp> {
  const sdk = await import('./sdk-auth.js');
  const app = sdk.express();
  app.disable('x-powered-by');
  app.get(CONSENT_PATH, (req, res) => showConsent(consent, req, res));
  app.post(CONSENT_PATH, sdk.express.urlencoded({ extended: false, limit: '16kb' }), (req, res) => decideConsent(consent, req, res));
  // The SDK's per-address rate limits stay; express-rate-limit's check of X-Forwarded-For would print a stack trace per process.
  const rateLimit = { validate: { xForwardedForHeader: false } };
  app.use(sdk.mcpAuthRouter({
    provider: serverProvider(sdk, consent.issuer, settings),
    issuerUrl: settings.issuer,
    authorizationOptions: { rateLimit },
    tokenOptions: { rateLimit },
    clientRegistrationOptions: { rateLimit },
    revocationOptions: { rateLimit },
  }));
  // express would print an error's stack to stderr. A body it could not parse is the client's
  // error (400), and is not logged: a JSON parser's message quotes the body.
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = (error as { status?: unknown }).status;
    const clients = typeof status === 'number' && status >= 400 && status < 500;
    if (!clients) note(error);
    if (res.headersSent) return;
    if (clients) res.status(status).json({ error: 'invalid_request', error_description: 'the request body could not be read' });
    else res.status(500).json({ error: 'server_error', error_description: 'internal error' });
  });
  return (req, res) => app(req, res, () => res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not_found"}'));
}
