/**
 * LimitNotes with a manual clock: a subject's first refusal on a server is an audit line at
 * once, the rest of the minute one line with their count, a quiet minute forgets the pair, and
 * stop writes what is counted. A property test checks that any run of refusals and ticks is
 * counted exactly, in at most one line per pair and minute. No minute is waited for.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { Actor, AuditEvent } from '../../../daemon/audit/events.js';
import { LimitNotes } from '../../../daemon/audit/limit-notes.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const MINUTE = 60_000;
const ci: Actor = { subject: 'token:ci', roles: ['capped'] };
const alice: Actor = { subject: 'user:alice', roles: [] };
const rate = { max: 3, where: 'roles.capped.limits.requestsPerMinute' };
const sessions = { max: 1, where: 'daemon.maxSessionsPerToken' };

type Written = AuditEvent & Actor;

function notes() {
  const clock = new ManualClock(Date.parse('2026-01-01T00:00:00Z'));
  const lines: Written[] = [];
  const n = new LimitNotes({ clock, audit: { by: (actor) => ({ record: (e) => lines.push({ ...e, subject: actor.subject, roles: [...actor.roles] }) }) } });
  return { clock, lines, n };
}

describe('LimitNotes', () => {
  it('writes a pair\'s first refusal at once and the rest of the minute as one line with the count', () => {
    const { clock, lines, n } = notes();
    for (let i = 0; i < 5000; i++) n.refused('rate.limited', ci, 'everything', rate);
    assert.deepEqual(lines, [{ event: 'rate.limited', server: 'everything', count: 1, limit: 3, setting: 'roles.capped.limits.requestsPerMinute', subject: 'token:ci', roles: ['capped'] }]);
    clock.advance(MINUTE - 1);
    assert.equal(lines.length, 1, 'nothing more within the minute');
    clock.advance(1);
    assert.deepEqual(lines[1], { event: 'rate.limited', server: 'everything', count: 4999, seconds: 60, limit: 3, setting: 'roles.capped.limits.requestsPerMinute', subject: 'token:ci', roles: ['capped'] });
  });

  it('keeps subjects, servers and events apart', () => {
    const { lines, n } = notes();
    n.refused('rate.limited', ci, 'everything', rate);
    n.refused('rate.limited', ci, 'other', rate);
    n.refused('rate.limited', alice, 'everything', rate);
    n.refused('session.limited', ci, 'everything', sessions);
    n.refused('rate.limited', ci, 'everything', rate);
    assert.deepEqual(lines.map((l) => `${l.subject} ${l.event} ${'server' in l ? l.server : ''}`), [
      'token:ci rate.limited everything', 'token:ci rate.limited other', 'user:alice rate.limited everything', 'token:ci session.limited everything',
    ]);
    assert.deepEqual(lines[3], { event: 'session.limited', server: 'everything', count: 1, limit: 1, setting: 'daemon.maxSessionsPerToken', subject: 'token:ci', roles: ['capped'] });
  });

  it('forgets a pair after a quiet minute, so its next refusal is written at once', () => {
    const { clock, lines, n } = notes();
    n.refused('rate.limited', ci, 'everything', rate);
    clock.advance(MINUTE);
    assert.equal(clock.pending, 0, 'no timer kept for a quiet pair');
    clock.advance(5 * MINUTE);
    n.refused('rate.limited', ci, 'everything', rate);
    assert.deepEqual(lines.map((l) => 'count' in l && l.count), [1, 1]);
  });

  it('names the limit in force when the line is written (a reload may change it)', () => {
    const { clock, lines, n } = notes();
    n.refused('rate.limited', ci, 'everything', rate);
    n.refused('rate.limited', ci, 'everything', { max: 10, where: 'daemon.requestsPerMinute' });
    clock.advance(MINUTE);
    assert.deepEqual(lines[1], { event: 'rate.limited', server: 'everything', count: 1, seconds: 60, limit: 10, setting: 'daemon.requestsPerMinute', subject: 'token:ci', roles: ['capped'] });
  });

  it('stop writes what is counted and leaves no timer', () => {
    const { clock, lines, n } = notes();
    n.refused('session.limited', alice, 'github', sessions);
    clock.advance(20_000);
    n.refused('session.limited', alice, 'github', sessions);
    n.refused('session.limited', alice, 'github', sessions);
    n.stop();
    assert.equal(clock.pending, 0);
    assert.deepEqual(lines[1], { event: 'session.limited', server: 'github', count: 2, seconds: 20, limit: 1, setting: 'daemon.maxSessionsPerToken', subject: 'user:alice', roles: [] });
  });

  it('any run of refusals and ticks: every refusal counted once, at most one line per pair and minute', () => {
    const step = fc.oneof(
      fc.record({ subject: fc.constantFrom('token:a', 'token:b'), server: fc.constantFrom('x', 'y') }),
      fc.integer({ min: 1, max: 3 * MINUTE }),
    );
    fc.assert(fc.property(fc.array(step, { maxLength: 200 }), (steps) => {
      const { clock, lines, n } = notes();
      const start = clock.now();
      const refused = new Map<string, number>();
      for (const s of steps) {
        if (typeof s === 'number') clock.advance(s);
        else {
          n.refused('rate.limited', { subject: s.subject, roles: [] }, s.server, rate);
          refused.set(`${s.subject} ${s.server}`, (refused.get(`${s.subject} ${s.server}`) ?? 0) + 1);
        }
      }
      n.stop();
      const written = new Map<string, number>();
      const minutes = Math.floor((clock.now() - start) / MINUTE) + 1;
      for (const l of lines) {
        assert.ok(l.event === 'rate.limited');
        const key = `${l.subject} ${l.server}`;
        written.set(key, (written.get(key) ?? 0) + l.count);
      }
      assert.deepEqual(written, refused);
      // A pair writes its first line, then at most one a minute, and one more at stop.
      for (const key of refused.keys()) assert.ok(lines.filter((l) => `${l.subject} ${'server' in l ? l.server : ''}` === key).length <= minutes + 2);
    }));
  });
});
