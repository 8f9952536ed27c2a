/**
 * The session's gate: what the bridge asks before passing a client message on and before
 * relaying a server message back. It answers denied requests itself, filters list results,
 * and audits tool calls (name, outcome, duration — never arguments or results). A request
 * must pass the server's policy and the rights the session's subject holds through its roles
 * (auth/roles.ts), judged on the same targets; when asked to, the gate also counts each request
 * against the subject's rate (auth/limits.ts) and answers one beyond it itself.
 */
import type { Audit } from '../audit/audit.js';
import { type Id, type Outcome, idKey as key } from '../session/envelope.js';
import { type RateRefusal, rateLimitAnswer } from '../auth/limits.js';
import { type Judge, type Policy, type Rulebook, deniedRequest, denialError, filterList, isListMethod, isOpen, policyJudge } from './policy.js';

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
  /** The subject's rights on this server through its roles, read at each message; undefined when they restrict nothing. */
  readonly rights?: () => Judge | undefined;
  /** Counts a client request against the subject's rate; absent where the transport counts (the HTTP gateway), so none is counted twice. */
  readonly rate?: () => RateRefusal | undefined;
  /** The audit log as the session's subject writes to it. */
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
    const request = id !== undefined && id !== null;
    if (request) {
      // Counted before it is judged: a denied request is a request all the same.
      const limited = this.#deps.rate?.();
      if (limited) return { answer: rateLimitAnswer(id, limited) };
    }
    const rules = this.#rules();
    if (rules) {
      // A notification is judged too: a server might act on a tools/call without an id.
      const denial = deniedRequest(rules, method, message.params, this.#readOnly);
      if (denial) {
        this.#deps.audit.record({ event: 'call.denied', session: this.#deps.session, server: this.#deps.server, method, name: denial.name, rule: denial.rule });
        return { answer: request ? denialError(id, denial) : undefined };
      }
    }
    if (!request) return undefined;
    if (rules && isListMethod(method)) this.#lists.set(key(id), method);
    if (method === 'tools/call') {
      const name = (message.params as { name?: unknown } | undefined)?.name;
      this.#calls.set(key(id), { tool: typeof name === 'string' ? name : '', started: this.#deps.now() });
    }
    return undefined;
  }

  /** What a message must pass now (the server's policy, the subject's rights), or undefined when nothing restricts it. */
  #rules(): Rulebook | undefined {
    const policy = this.#deps.policy();
    const rights = this.#deps.rights?.();
    if (rights === undefined) return isOpen(policy) ? undefined : policy;
    return isOpen(policy) ? [rights] : [policyJudge(policy), rights];
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
    const filtered = filterList(this.#rules() ?? this.#deps.policy(), method, message.result, this.#readOnly);
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
