/**
 * The little of express that as-app.ts uses. Express is the MCP SDK's dependency, reached only
 * through the vendored sdk-auth.ts; its own types are not installed, and mcpd needs no more.
 */
declare module 'express' {
  import type { IncomingMessage, ServerResponse } from 'node:http';

  export interface Request extends IncomingMessage {
    body?: Record<string, unknown>;
    query: Record<string, unknown>;
  }
  export interface Response extends ServerResponse {
    status(code: number): Response;
    type(type: string): Response;
    send(body: string): Response;
    json(body: unknown): Response;
    redirect(status: number, url: string): void;
  }
  export type NextFunction = (error?: unknown) => void;
  export type RequestHandler = (req: Request, res: Response, next: NextFunction) => void;
  export interface Application {
    (req: IncomingMessage, res: ServerResponse, next: NextFunction): void;
    use(...handlers: unknown[]): Application;
    get(path: string, handler: RequestHandler): Application;
    post(path: string, ...handlers: RequestHandler[]): Application;
    set(name: string, value: unknown): Application;
    disable(name: string): Application;
  }
  interface Express {
    (): Application;
    urlencoded(options: { extended: boolean; limit?: string }): RequestHandler;
  }
  const express: Express;
  export default express;
}
