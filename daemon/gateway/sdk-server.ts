/**
 * The MCP SDK's Streamable HTTP server transport, which the gateway serves `/mcp/NAME` with: its
 * web-standard core, spoken to through web-exchange.ts rather than the SDK's Node wrapper (see
 * there why). Vendored as daemon/remote/sdk-transports.ts is: `npm run build` bundles this
 * module with the SDK code it reaches (scripts/bundle.ts), so a production install serves HTTP
 * without the SDK.
 */
export { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
