/**
 * A client message as the session reads it: parsed whole, and passed on re-serialised, so the
 * server receives exactly the message the policy gate judged. Read by its bytes instead, a
 * message with two `method` keys could show the gate one method and the server, whose
 * JSON.parse keeps the last, another. JSON.parse keeps the last duplicate key as the server's
 * parser does, and JSON.stringify writes no duplicates, no escapes the server could read
 * otherwise and no newline. Client messages are small, so the parse costs little; the server's
 * answers keep the scan (envelope.ts).
 *
 * What cannot be classified is refused, not passed on: a batch (MCP has none since 2025-06-18),
 * a `method` that is not a string, a request whose id is null or not a string or a number.
 */
import { type Envelope, type Id, envelopeOfMessage } from './envelope.js';

/** A client message, parsed. */
export type ClientMessage = { jsonrpc?: string; id?: Id; method?: string; params?: unknown; result?: unknown; error?: unknown };

/** What the session passes on (the canonical bytes), the message they hold, and its envelope. */
export interface ReadMessage {
  readonly line: Buffer;
  readonly message: ClientMessage;
  readonly envelope: Envelope;
}

/** The message to pass on; a string is the error response to send the client instead. */
export function readClientMessage(text: Buffer | string): ReadMessage | string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text.toString());
  } catch {
    return errorResponse(null, -32700, 'Parse error: mcpd received a message that is not JSON; it was not passed to the server');
  }
  return checkClientMessage(parsed);
}

/** The same, for a message already parsed (the gateway's transport parsed the HTTP body): it is serialised once here. */
export function checkClientMessage(parsed: unknown): ReadMessage | string {
  if (Array.isArray(parsed)) return errorResponse(null, -32600, 'Invalid Request: MCP does not use JSON-RPC batches (removed in protocol version 2025-06-18); send each message on its own. The batch was not passed to the server');
  if (typeof parsed !== 'object' || parsed === null) return errorResponse(null, -32600, 'Invalid Request: a JSON-RPC message is an object');
  const invalid = invalidRequest(parsed as Record<string, unknown>);
  if (invalid !== undefined) return invalid;
  const message = parsed as ClientMessage;
  return { line: Buffer.from(JSON.stringify(message)), message, envelope: envelopeOfMessage(message) };
}

export function errorResponse(id: Id | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

/**
 * The error for a request or notification the gate could not classify; undefined when it can.
 * (JSON.stringify would turn an id of 1e400 into null: a finite number is required.)
 */
function invalidRequest(message: Record<string, unknown>): string | undefined {
  if (!Object.hasOwn(message, 'method')) return undefined;
  const { id, method } = message;
  const validId = typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));
  const answerId = validId ? id : null;
  if (typeof method !== 'string') return errorResponse(answerId, -32600, 'Invalid Request: "method" is not a string; the message was not passed to the server');
  if (Object.hasOwn(message, 'id') && !validId) {
    return errorResponse(null, -32600, `Invalid Request: the id of this "${method.slice(0, 100)}" request is ${describe(id)}; MCP request ids are strings or numbers. It was not passed to the server`);
  }
  return undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') return 'not a finite number';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
