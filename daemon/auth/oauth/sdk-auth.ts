/**
 * The MCP SDK's authorization server router (RFC 8414 metadata, RFC 7591 registration,
 * authorize with PKCE S256, token, RFC 7009 revocation) and express, which it is built on.
 * Vendored as daemon/gateway/sdk-server.ts is: `npm run build` bundles this module with the SDK
 * code it reaches (scripts/bundle.ts); the daemon imports it only when a listener has an
 * `oauth` provider. The error classes come from the same bundle, so the router's
 * `instanceof OAuthError` knows the ones server-provider.ts throws.
 */
export { default as express } from 'express';
export { mcpAuthRouter } from '@modelcontextprotocol/sdk/server/auth/router.js';
export { AccessDeniedError, InvalidGrantError, InvalidRequestError, InvalidTargetError, InvalidTokenError, OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
