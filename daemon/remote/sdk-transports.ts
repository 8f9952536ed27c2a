/**
 * The MCP SDK's two client transports, on which the remote bridge is built. `npm run build`
 * bundles this module with the SDK code it reaches (scripts/bundle.ts): a production install
 * carries these transports, not the SDK with what its servers need (express, hono, jose…), so the
 * SDK is only a dev dependency of mcpd, and an optional peer of `mcpd/client`.
 */
export { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
export { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
