/**
 * The parts of `jose` the `jwt` provider uses. jose comes with the MCP SDK, a dev dependency:
 * `npm run build` bundles this module with the jose code it reaches (scripts/bundle.ts), as it
 * does the SDK's transports, so a production install checks JWTs without jose installed. Only
 * a listener with a `jwt` provider loads it (an import() at its first request).
 */
export { createRemoteJWKSet, jwtVerify } from 'jose';
export type { JWTPayload, JWTVerifyGetKey } from 'jose';
