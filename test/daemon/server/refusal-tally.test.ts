/**
 * RefusalTally with a manual clock: the first refusal from a peer on a listener is logged at
 * once, the rest of the interval are one line with the count by code, a quiet interval forgets
 * the peer, only 401s reach the audit log, and peers past MAX_PEERS share one count. A property
 * test checks that any run of refusals and ticks is counted exactly, in a bounded number of lines.
 * No minute is waited for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { AuditEvent } from '../../../daemon/audit/events.js';
import { MAX_PEERS, type Refusal, RefusalTally } from '../../../daemon/server/refusal-tally.js';
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

  it('peers past MAX_PEERS (any of 127.0.0.0/8 can be a source) are counted together as "others"', () => {
    const { clock, lines, t } = tally();
    for (let i = 0; i < MAX_PEERS + 500; i++) t.record({ ...tcp, peer: `127.0.${i >> 8}.${i & 255}`, ...bad });
    assert.equal(lines.length, MAX_PEERS + 1, 'one first line per peer counted apart, and one for the others');
    assert.equal(lines.at(-1)!.peer, 'others');
    clock.advance(MINUTE);
    assert.deepEqual(lines.slice(MAX_PEERS + 1).map((l) => l.summary), ['499 refused requests from others on tcp:127.0.0.1:7000 in the last 60s: TOKEN_INVALID×499']);
  });

  it('any run of refusals and ticks: every refusal is counted once, in at most one line per peer a minute plus its first', () => {
    const step = fc.oneof(
      fc.record({ peer: fc.constantFrom('unix', '127.0.0.1', '::1'), code: fc.constantFrom('TOKEN_INVALID', 'TOKEN_REQUIRED', 'NOT_FOUND') }),
      fc.integer({ min: 1, max: 3 * MINUTE }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 300 }), (steps) => {
      const { clock, lines, audit, t } = tally();
      const sent = new Map<string, number>();
      const sent401 = new Map<string, number>();
      for (const s of steps) {
        if (typeof s === 'number') {
          clock.advance(s);
          continue;
        }
        const status = s.code === 'NOT_FOUND' ? 404 : 401;
        t.record({ ...tcp, peer: s.peer, route: '/v1/control', status, code: s.code, message: 'refused' });
        sent.set(s.peer, (sent.get(s.peer) ?? 0) + 1);
        if (status === 401) sent401.set(s.peer, (sent401.get(s.peer) ?? 0) + 1);
      }
      const minutes = Math.floor((clock.now() - Date.parse('2026-01-01T00:00:00Z')) / MINUTE);
      t.stop();
      for (const [peer, n] of sent) {
        const mine = lines.filter((l) => l.peer === peer);
        assert.equal(mine.reduce((sum, l) => sum + Number(l.count ?? 1), 0), n, `daemon.log counts every refusal of ${peer}`);
        // Its first, one a tick (a minute apart at least; a quiet one forgets it, so the next is a first), one at stop.
        assert.ok(mine.length <= Math.min(n, minutes + 2), `${mine.length} lines for ${n} refusals of ${peer} in ${minutes} minutes`);
      }
      for (const [peer, n] of sent401) {
        const mine = audit.filter((e) => e.event === 'token.refused' && e.peer === peer);
        assert.equal(mine.reduce((sum, e) => sum + ('count' in e ? e.count : 1), 0), n, `the audit log counts every 401 of ${peer}`);
      }
      assert.equal(clock.pending, 0, 'stop leaves no timer');
    }), { numRuns: 300 });
  });
});
