/**
 * What counts as a remote server ending its session, and how many new sessions mcpd opens
 * before it gives up (session-loss.ts), on a manual clock.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { McpdError } from '../../../core/errors.js';
import { remoteError, statusError } from '../../../daemon/remote/remote-errors.js';
import { keepsEndingSessions, REOPEN_LIMIT, ReopenBudget, sessionLost } from '../../../daemon/remote/session-loss.js';
import { ManualClock } from '../../helpers/manual-clock.js';

const subject = { name: 'linear', url: 'https://mcp.example.test/mcp' };
/** What the SDK's Streamable HTTP transport throws for a status (StreamableHTTPError: the status in `code`). */
const sdkError = (status: number) => Object.assign(new Error(`Streamable HTTP error: Error POSTing to endpoint: {"secret-looking":"body"}`), { code: status });

describe('sessionLost', () => {
  it('is a 404 to a link that has a session id, as the transport reported it', () => {
    const lost = remoteError(sdkError(404), subject, 'none');
    assert.equal(sessionLost(lost, { sessionId: 'abc' }), true);
    assert.equal(sessionLost(lost, { sessionId: undefined }), false, 'without a session, a 404 is a missing endpoint');
    for (const status of [400, 401, 403, 500, 502]) assert.equal(sessionLost(remoteError(sdkError(status), subject, 'header'), { sessionId: 'abc' }), false, String(status));
    assert.equal(sessionLost(new McpdError('REMOTE_FAILED', 'server "linear": 404 in the text only'), { sessionId: 'abc' }), false);
    assert.equal(sessionLost(sdkError(404), { sessionId: 'abc' }), false, 'only an explained error counts');
  });

  it('the status is kept as the cause, never the server\'s body', () => {
    const error = statusError(404, subject, 'none');
    assert.deepEqual(error.cause, { status: 404 });
    assert.ok(!JSON.stringify(remoteError(sdkError(404), subject, 'none').cause).includes('body'));
  });
});

describe('ReopenBudget', () => {
  it(`allows ${REOPEN_LIMIT.count} new sessions in any ${REOPEN_LIMIT.windowMs / 1000} s, then refuses until the oldest is a window old`, () => {
    const clock = new ManualClock(1_000_000);
    const budget = new ReopenBudget(clock);
    assert.deepEqual([budget.take(), budget.take()], [true, true]);
    clock.advance(30_000);
    assert.equal(budget.take(), true);
    assert.equal(budget.take(), false, 'a fourth within the minute');
    clock.advance(29_999);
    assert.equal(budget.take(), false, 'the first two are 59.999 s old');
    clock.advance(1);
    assert.equal(budget.take(), true, 'the first two are a minute old');
    assert.equal(budget.take(), true);
    assert.equal(budget.take(), false);
  });
});

describe('keepsEndingSessions', () => {
  it('names the server and the URL, says which way, and hints at the fix', () => {
    const atOnce = keepsEndingSessions(subject, 'at-once');
    assert.equal(atOnce.code, 'REMOTE_FAILED');
    assert.equal(atOnce.message, 'server "linear": https://mcp.example.test/mcp keeps ending its sessions: it answered 404 to the new session\'s initialize right after ending the previous session');
    assert.match(atOnce.hint!, /restarting in a loop .*\(mcpd logs linear/);
    assert.equal(keepsEndingSessions(subject, 'too-often').message, 'server "linear": https://mcp.example.test/mcp keeps ending its sessions: it ended 4 sessions within 60 s (mcpd opens a new one at most 3 times a minute)');
  });
});
