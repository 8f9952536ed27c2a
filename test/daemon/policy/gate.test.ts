/**
 * The gate with a subject's role rights and rate: list results filtered by the roles and the
 * server's policy together, calls refused naming the role rule and audited, and requests counted
 * against the subject's rate only when the gate is asked to count (the HTTP gateway counts per
 * HTTP request instead), notifications never.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import { SubjectLimits } from '../../../daemon/auth/limits.js';
import { roleBook } from '../../../daemon/auth/roles.js';
import type { Principal } from '../../../daemon/auth/scopes.js';
import { configSchema } from '../../../daemon/config/schema.js';
import { PolicyGate } from '../../../daemon/policy/gate.js';
import { compilePolicy } from '../../../daemon/policy/policy.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const config = configSchema.parse({
  daemon: { requestsPerMinute: 2 },
  roles: { reader: { grants: [{ server: 'srv', access: 'read' }], denies: [{ server: 'srv', tools: ['get-env'] }] } },
});
const ann: Principal = { kind: 'forwarded', subject: 'user:ann', user: 'ann', groups: [], roles: ['reader'] };

function gate(counts: boolean) {
  const audit: AuditEvent[] = [];
  const limits = new SubjectLimits(() => config, new ManualClock(0));
  const policy = compilePolicy({ tools: { deny: ['echo'] } }, 'mcpServers.srv');
  const rights = roleBook(config).rightsOn(ann, 'srv')!.judge;
  const g = new PolicyGate({
    policy: () => policy, rights: () => rights, ...(counts ? { rate: () => limits.take(ann) } : {}),
    audit: { record: (e) => audit.push(e) }, session: 's1', server: 'srv', now: () => 0,
  });
  return { g, audit, limits };
}

const list = {
  tools: [
    { name: 'echo', annotations: { readOnlyHint: true } },
    { name: 'get-env', annotations: { readOnlyHint: true } },
    { name: 'get-sum', annotations: { readOnlyHint: true } },
    { name: 'toggle', annotations: { readOnlyHint: false } },
  ],
};

describe('the gate with role rights', () => {
  it('filters a list by the roles and the server policy together, and refuses a call either denies', () => {
    const { g, audit } = gate(false);
    assert.equal(g.fromClient({ id: 1, method: 'tools/list' }), undefined);
    assert.equal(g.needs(1), 'whole');
    const line = g.fromServer({ id: 1, result: list }, JSON.stringify({ jsonrpc: '2.0', id: 1, result: list }));
    assert.deepEqual((JSON.parse(line) as { result: typeof list }).result.tools.map((t) => t.name), ['get-sum']);
    const refusals = ['echo', 'get-env', 'toggle'].map((name, i) => JSON.parse(g.fromClient({ id: 10 + i, method: 'tools/call', params: { name } })!.answer!) as { error: { data: { rule: string } } });
    assert.deepEqual(refusals.map((r) => r.error.data.rule), ['mcpServers.srv.tools.deny', 'roles.reader.denies[0].tools', 'roles.reader.grants[0].access']);
    assert.deepEqual(audit.map((e) => e.event === 'call.denied' && e.rule), ['mcpServers.srv.tools.deny', 'roles.reader.denies[0].tools', 'roles.reader.grants[0].access']);
    assert.equal(g.fromClient({ id: 20, method: 'tools/call', params: { name: 'get-sum' } }), undefined);
  });
});

describe('the gate and the subject\'s rate', () => {
  it('counts requests when asked to, answering the one past the limit itself; notifications are not counted', () => {
    const { g, audit } = gate(true);
    assert.equal(g.fromClient({ method: 'notifications/initialized' }), undefined);
    assert.equal(g.fromClient({ id: 1, method: 'ping' }), undefined);
    assert.equal(g.fromClient({ method: 'notifications/cancelled', params: { requestId: 1 } }), undefined);
    assert.equal(g.fromClient({ id: 2, method: 'ping' }), undefined);
    const answer = JSON.parse(g.fromClient({ id: 3, method: 'tools/call', params: { name: 'get-sum' } })!.answer!) as { id: number; error: { code: number; message: string } };
    assert.equal(answer.id, 3);
    assert.equal(answer.error.code, -32029);
    assert.equal(answer.error.message, 'mcpd: user:ann sent 2 requests in the last minute, the most daemon.requestsPerMinute (2) allows; retry in 61 s; the request was not passed to the server');
    assert.equal(g.needs(3), undefined, 'a refused call is not awaited');
    assert.deepEqual(audit, []);
  });

  it('counts nothing when the transport counts (the HTTP gateway): a request is counted once', () => {
    const { g, limits } = gate(false);
    for (let id = 1; id <= 5; id++) assert.equal(g.fromClient({ id, method: 'ping' }), undefined);
    // The gateway's own count of the same subject is untouched by the gate.
    assert.equal(limits.take(ann), undefined);
    assert.equal(limits.take(ann), undefined);
    assert.ok(limits.take(ann));
  });
});
