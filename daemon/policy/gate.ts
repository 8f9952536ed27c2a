/**
 * The session's gate: what the bridge asks before passing a client message on and before
 * relaying a server message back. It answers denied requests itself, filters list results,
 * and audits tool calls (name, outcome, duration — never arguments or results).
 */
import type { Audit } from '../audit/audit.js';
import { type Id, type Outcome, idKey as key } from '../session/envelope.js';
import { type Policy, deniedRequest, denialError, filterList, isListMethod, isOpen } from './policy.js';

/** A JSON-RPC message as the bridge parsed it. */
export type GateMessage = { id?: Id | null; method?: string; params?: unknown; result?: unknown; error?: unknown };

/** A client message the gate refused: the response to answer it with, or none for a notification (it gets no answer). */
export interface Refusal {
  readonly answer: string | undefined;
}

export interface MessageGate {
  /** What it needs of the answer to request `id`: all of it, parsed, for fromServer (a list result it filters), its outcome (a tool call it audits), or nothing. */
  needs(id: Id): 'whole' | 'outcome' | undefined;
  /** Whether any answer in flight must be shown whole: until then a long message that does not yet say what it answers is held. */
  readonly filtering: boolean;
  /** A client message, parsed whole (the bytes the server will get are its serialisation): undefined to pass it on, or the refusal. */
  fromClient(message: GateMessage): Refusal | undefined;
  /** Every response, once its last byte is in (read from its bytes, not parsed): a tool call is audited with its outcome. */
  answered(id: Id, outcome: Outcome): void;
  /** A response it filters, parsed: the line to relay (the same one, or the filtered list result). */
  fromServer(message: GateMessage, line: string): string;
  /** The session ended: calls never answered are audited as such. */
  end(): void;
}

export interface GateDeps {
  /** The server's current policy (read at each message, so a reload applies at once). */
  readonly policy: () => Policy;
  readonly audit: Audit;
  readonly session: string;
  readonly server: string;
  readonly now: () => number;
}

export class PolicyGate implements MessageGate {
  readonly #deps: GateDeps;
  /** List requests in flight, by id key: their results are filtered. */
  readonly #lists = new Map<string, string>();
  /** Tool calls in flight, by id key. */
  readonly #calls = new Map<string, { tool: string; started: number }>();
  /** Tools the server listed as readOnlyHint, for `tools.readOnly`. */
  readonly #readOnly = new Set<string>();

  constructor(deps: GateDeps) {
    this.#deps = deps;
  }

  needs(id: Id): 'whole' | 'outcome' | undefined {
    return this.#lists.has(key(id)) ? 'whole' : this.#calls.has(key(id)) ? 'outcome' : undefined;
  }

  get filtering(): boolean {
    return this.#lists.size > 0;
  }

  fromClient(message: GateMessage): Refusal | undefined {
    const { id, method } = message;
    if (typeof method !== 'string') return undefined;
    const policy = this.#deps.policy();
    if (!isOpen(policy)) {
      // A notification is judged too: a server might act on a tools/call without an id.
      const denial = deniedRequest(policy, method, message.params, this.#readOnly);
      if (denial) {
        this.#deps.audit.record({ event: 'call.denied', session: this.#deps.session, server: this.#deps.server, method, name: denial.name, rule: denial.rule });
        return { answer: id === undefined || id === null ? undefined : denialError(id, denial) };
      }
    }
    if (id === undefined || id === null) return undefined;
    if (!isOpen(policy) && isListMethod(method)) this.#lists.set(key(id), method);
    if (method === 'tools/call') {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      this.#calls.set(key(id), { tool: typeof name === 'string' ? name : '', started: this.#deps.now() });
    }
    return undefined;
  }

  answered(id: Id, outcome: Outcome): void {
    const k = key(id);
    const call = this.#calls.get(k);
    if (!call) return;
    this.#calls.delete(k);
    this.#audited(call, outcome);
  }

  fromServer(message: GateMessage, line: string): string {
    if (message.method !== undefined || message.id === undefined || message.id === null) return line;
    const k = key(message.id);
    const method = this.#lists.get(k);
    if (method === undefined) return line;
    this.#lists.delete(k);
    if (message.result === undefined) return line;
    const filtered = filterList(this.#deps.policy(), method, message.result, this.#readOnly);
    return filtered.hidden === 0 ? line : JSON.stringify({ ...message, result: filtered.result });
  }

  end(): void {
    for (const call of this.#calls.values()) this.#audited(call, 'unanswered');
    this.#calls.clear();
  }

  #audited(call: { tool: string; started: number }, outcome: 'ok' | 'error' | 'tool-error' | 'unanswered'): void {
    this.#deps.audit.record({ event: 'tool.call', session: this.#deps.session, server: this.#deps.server, tool: call.tool, outcome, durationMs: Math.max(0, this.#deps.now() - call.started) });
  }
}
