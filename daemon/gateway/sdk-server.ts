/**
 * The MCP SDK's Streamable HTTP server transport, which the gateway serves `/mcp/NAME` with.
 * Vendored as daemon/remote/sdk-transports.ts is: `npm run build` bundles this module with the
 * SDK code it reaches (scripts/bundle.ts), so a production install serves HTTP without the SDK.
 */
export { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
