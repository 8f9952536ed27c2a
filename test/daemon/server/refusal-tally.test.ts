/**
 * RefusalTally with a manual clock: the first refusal from a peer on a listener is logged at
 * once, the rest of the interval are one line with the count by code, a quiet interval forgets
 * the peer, and only 401s reach the audit log. No minute is waited for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import { type Refusal, RefusalTally } from '../../../daemon/server/refusal-tally.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const MINUTE = 60_000;
const bad: Omit<Refusal, 'listener' | 'peer'> = { route: '/v1/session/mini', status: 401, code: 'TOKEN_INVALID', message: 'the token presented is not one mcpd issued (unknown token)' };
const unix = { listener: 'unix:/run/mcpd.sock', peer: 'unix' };
const tcp = { listener: 'tcp:127.0.0.1:7000', peer: '127.0.0.1' };

function tally() {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const lines: Array<{ event: string } & Record<string, unknown>> = [];
  const audit: AuditEvent[] = [];
  const t = new RefusalTally({ clock, intervalMs: MINUTE, log: (event, fields = {}) => lines.push({ event, ...fields }), audit: { record: (e) => audit.push(e) } });
  return { clock, lines, audit, t };
}

describe('RefusalTally', () => {
  it('logs a peer\'s first refusal at once and the rest of the minute as one line with the count', () => {
    const { clock, lines, audit, t } = tally();
    for (let i = 0; i < 2000; i++) t.record({ ...unix, ...bad });
    assert.deepEqual(lines, [{ event: 'connection.refused', ...unix, url: '/v1/session/mini', status: 401, code: 'TOKEN_INVALID' }]);
    assert.deepEqual(audit, [{ event: 'token.refused', ...unix, route: '/v1/session/mini', code: 'TOKEN_INVALID', reason: bad.message }]);
    clock.advance(MINUTE - 1);
    assert.equal(lines.length, 1, 'nothing more within the minute');
    clock.advance(1);
    assert.deepEqual(lines[1], {
      event: 'connection.refused', ...unix, count: 1999, seconds: 60, codes: { TOKEN_INVALID: 1999 },
      summary: '1999 refused requests from unix on unix:/run/mcpd.sock in the last 60s: TOKEN_INVALID×1999',
    });
    assert.deepEqual(audit[1], { event: 'token.refused', ...unix, count: 1999, seconds: 60, codes: { TOKEN_INVALID: 1999 } });
  });

  it('keeps counting while refusals go on, and forgets a peer after a quiet interval', () => {
    const { clock, lines, t } = tally();
    t.record({ ...unix, ...bad });
    t.record({ ...unix, ...bad });
    clock.advance(MINUTE);
    t.record({ ...unix, ...bad, code: 'TOKEN_REQUIRED' });
    t.record({ ...unix, ...bad });
    clock.advance(MINUTE);
    assert.deepEqual(lines.map((l) => l.summary ?? l.code), [
      'TOKEN_INVALID',
      '1 refused request from unix on unix:/run/mcpd.sock in the last 60s: TOKEN_INVALID×1',
      '2 refused requests from unix on unix:/run/mcpd.sock in the last 60s: TOKEN_INVALID×1, TOKEN_REQUIRED×1',
    ]);
    clock.advance(MINUTE);
    assert.equal(lines.length, 3, 'a quiet minute writes nothing');
    assert.equal(clock.pending, 0, 'and forgets the peer');
    t.record({ ...unix, ...bad });
    assert.equal(lines.length, 4, 'its next refusal is logged at once');
    assert.equal(lines[3]!.code, 'TOKEN_INVALID');
  });

  it('counts each listener and peer apart; refusals other than 401 stay out of the audit log', () => {
    const { clock, lines, audit, t } = tally();
    t.record({ ...unix, ...bad });
    t.record({ ...tcp, ...bad });
    t.record({ ...tcp, peer: '::1', ...bad });
    t.record({ ...unix, route: '/v1/session/nope', status: 404, code: 'SERVER_UNKNOWN', message: 'no server named "nope"' });
    t.record({ ...tcp, route: '/v1/session/mini', status: 429, code: 'SESSION_LIMIT', message: 'client token "ci" holds 32 open sessions' });
    assert.deepEqual(lines.map((l) => `${l.listener} ${l.peer}`), ['unix:/run/mcpd.sock unix', 'tcp:127.0.0.1:7000 127.0.0.1', 'tcp:127.0.0.1:7000 ::1']);
    clock.advance(MINUTE);
    assert.deepEqual(lines.slice(3).map((l) => l.codes), [{ SERVER_UNKNOWN: 1 }, { SESSION_LIMIT: 1 }]);
    assert.equal(audit.length, 3, 'the first 401 of each peer; the 404 and the 429 are not token refusals');
  });

  it('stop writes what is counted so far, with the seconds it covers, and cancels the timers', () => {
    const { clock, lines, audit, t } = tally();
    for (let i = 0; i < 5; i++) t.record({ ...tcp, ...bad });
    clock.advance(12_000);
    t.stop();
    assert.equal(lines.at(-1)!.summary, '4 refused requests from 127.0.0.1 on tcp:127.0.0.1:7000 in the last 12s: TOKEN_INVALID×4');
    assert.deepEqual(audit.at(-1), { event: 'token.refused', ...tcp, count: 4, seconds: 12, codes: { TOKEN_INVALID: 4 } });
    assert.equal(clock.pending, 0);
  });
});
