/**
 * The MCP SDK's client pieces the remote bridge is built on: its two transports and its OAuth client. `npm run build`
 * bundles this module with the SDK code it reaches (scripts/bundle.ts): a production install
 * carries these transports, not the SDK with what its servers need (express, hono, jose…), so the
 * SDK is only a dev dependency of mcpd, and an optional peer of `mcpd/client`.
 */
export { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
// The SDK's OAuth client: discovery, registration, PKCE, token requests (daemon/remote/oauth/).
export { auth, discoverOAuthServerInfo, extractWWWAuthenticateParams } from '@modelcontextprotocol/sdk/client/auth.js';
export { createPrivateKeyJwtAuth } from '@modelcontextprotocol/sdk/client/auth-extensions.js';
export { OAuthError } from '@modelcontextprotocol/sdk/server/auth/errors.js';
