/**
 * A client message as the session reads it: its envelope, by the scan with its bytes passed on
 * untouched, else by parsing it; or the JSON-RPC error the client is answered with instead.
 */
import { type Envelope, type Id, envelopeOfMessage, readEnvelope } from './envelope.js';

type Message = { jsonrpc?: string; id?: Id | null; method?: string; params?: unknown; result?: unknown; error?: unknown };

/** The bytes to pass on and their envelope; a string is the error response to send instead. */
export function readClientMessage(text: Buffer | string): { line: Buffer; envelope: Envelope } | string {
  const line = typeof text === 'string' ? Buffer.from(text) : text;
  // The fast path reads the envelope and passes the bytes on untouched; a raw newline would split the frame.
  const envelope = line.includes(10) ? undefined : readEnvelope(line);
  if (envelope) return { line, envelope };
  const parsed = parseMessage(line);
  if (typeof parsed === 'string') return parsed;
  // Re-serialised: a client may send pretty-printed JSON.
  return { line: Buffer.from(JSON.stringify(parsed)), envelope: envelopeOfMessage(parsed) };
}

export function errorResponse(id: Id | null, code: number, message: string): string {
  return JSON.stringify({ jsonrpc: '2.0', id, error: { code, message } });
}

/** The slow path: the whole message parsed; a string is the error response to send instead. */
function parseMessage(line: Buffer): Message | string {
  let message: unknown;
  try {
    message = JSON.parse(line.toString());
  } catch {
    return errorResponse(null, -32700, 'Parse error: mcpd received a message that is not JSON; it was not passed to the server');
  }
  if (typeof message !== 'object' || message === null) return errorResponse(null, -32600, 'Invalid Request: a JSON-RPC message is an object');
  return message as Message;
}
