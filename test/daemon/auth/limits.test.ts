/**
 * Per-subject limits on a manual clock: the N+1th request within a minute is refused with the
 * exact wait, the window slides, subjects are counted apart, the highest of a subject's roles'
 * limits applies over the daemon's, the owner has none; the error and the JSON-RPC answer say
 * the subject, the limit and when to retry.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { RATE_LIMIT_ERROR, rateLimitAnswer, rateLimitError, retryAfterHeader, SubjectLimits, WINDOW_MS } from '../../../daemon/auth/limits.js';
import { OWNER, type Principal } from '../../../daemon/auth/scopes.js';
import { type Config, configSchema } from '../../../daemon/config/schema.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const token = (name: string, roles: string[] = []): Principal => ({ kind: 'token', subject: `token:${name}`, name, source: 'config', scopes: [], roles });

function limits(config: unknown, clock = new ManualClock(1_000_000)) {
  let parsed: Config = configSchema.parse(config);
  return { clock, limits: new SubjectLimits(() => parsed, clock), set: (next: unknown) => { parsed = configSchema.parse(next); } };
}

describe('SubjectLimits', () => {
  it('refuses the N+1th request within a minute, told to wait until the oldest counted second leaves the window, and lets one through then', () => {
    const { clock, limits: l } = limits({ daemon: { requestsPerMinute: 3 } });
    const ci = token('ci');
    assert.equal(l.take(ci), undefined);
    clock.advance(10_000);
    assert.equal(l.take(ci), undefined);
    assert.equal(l.take(ci), undefined);
    clock.advance(5_000);
    assert.deepEqual(l.take(ci), { subject: 'token:ci', retryAfterMs: 46_000, limit: { max: 3, where: 'daemon.requestsPerMinute' } });
    // Another subject has its own window; the owner has none.
    assert.equal(l.take(token('other')), undefined);
    for (let i = 0; i < 100; i++) assert.equal(l.take(OWNER), undefined);
    clock.advance(46_000);
    assert.equal(l.take(ci), undefined, 'the first request left the window');
    assert.equal(l.take(ci)?.retryAfterMs, 10_000);
  });

  it('keeps one subject to 61 counts whatever its limit', () => {
    const { limits: l } = limits({ daemon: { requestsPerMinute: 1_000_000_000 } });
    const started = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1000; i++) assert.equal(l.take(token('big')), undefined);
    assert.ok(process.memoryUsage().arrayBuffers - started < 1 << 20, 'no buffer sized by the limit');
  });

  it('never lets more than N through in any minute (property)', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 5 }), fc.array(fc.integer({ min: 0, max: 30_000 }), { maxLength: 60 }), (max, gaps) => {
      const { clock, limits: l } = limits({ daemon: { requestsPerMinute: max } });
      const passed: number[] = [];
      for (const gap of gaps) {
        clock.advance(gap);
        const refused = l.take(token('p'));
        if (refused === undefined) passed.push(clock.now());
        else {
          assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= WINDOW_MS + 1000);
          // Refused only when N passed in this second and the 60 before it.
          assert.equal(passed.filter((t) => Math.floor(clock.now() / 1000) - Math.floor(t / 1000) <= 60).length, max);
          // And the wait it is told is enough: the oldest of them has left the window by then.
          const oldest = Math.min(...passed.filter((t) => Math.floor(clock.now() / 1000) - Math.floor(t / 1000) <= 60));
          assert.equal(Math.floor((clock.now() + refused.retryAfterMs) / 1000) - Math.floor(oldest / 1000), 61);
        }
        assert.ok(passed.filter((t) => clock.now() - t < WINDOW_MS).length <= max);
      }
    }), { numRuns: 500 });
  });

  it('takes the highest of the subject\'s roles\' limits over the daemon\'s, and no rate when none is set', () => {
    const config = {
      daemon: { requestsPerMinute: 10, maxSessionsPerToken: 4 },
      roles: { a: { limits: { requestsPerMinute: 2, sessions: 1 } }, b: { limits: { requestsPerMinute: 5 } }, c: {} },
    };
    const { limits: l, set } = limits(config);
    assert.deepEqual(l.rate(token('x', ['a', 'b', 'c'])), { max: 5, where: 'roles.b.limits.requestsPerMinute' });
    assert.deepEqual(l.sessions(token('x', ['a', 'b'])), { max: 1, where: 'roles.a.limits.sessions' });
    assert.deepEqual(l.rate(token('x', ['c'])), { max: 10, where: 'daemon.requestsPerMinute' });
    assert.deepEqual(l.sessions(token('x')), { max: 4, where: 'daemon.maxSessionsPerToken' });
    assert.equal(l.sessions(OWNER), undefined);
    set({});
    assert.equal(l.rate(token('x')), undefined);
    assert.equal(l.take(token('x')), undefined);
  });

  it('says who, the limit, its setting and when to retry, as an error and as mcpd\'s JSON-RPC answer', () => {
    const refusal = { subject: 'user:ann', retryAfterMs: 41_200, limit: { max: 3, where: 'roles.guest.limits.requestsPerMinute' } };
    const error = rateLimitError(refusal, '/c.json');
    assert.equal(error.code, 'RATE_LIMITED');
    assert.equal(error.message, 'user:ann sent 3 requests in the last minute, the most roles.guest.limits.requestsPerMinute (3) allows; retry in 42 s');
    assert.equal(error.hint, 'wait 42 s, or raise roles.guest.limits.requestsPerMinute in /c.json');
    assert.equal(retryAfterHeader(refusal), '42');
    assert.deepEqual(JSON.parse(rateLimitAnswer(9, refusal)), {
      jsonrpc: '2.0', id: 9,
      error: {
        code: RATE_LIMIT_ERROR,
        message: 'mcpd: user:ann sent 3 requests in the last minute, the most roles.guest.limits.requestsPerMinute (3) allows; retry in 42 s; the request was not passed to the server',
        data: { code: 'RATE_LIMITED', retryAfterMs: 41_200, limit: 3, setting: 'roles.guest.limits.requestsPerMinute' },
      },
    });
  });
});
