/**
 * Which daemon settings wait for the next start: the log and audit caps do (their files are
 * opened with them), the per-token session cap does not (it is read at each new session).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { changedAtNextStart } from '../../../daemon/config/diff.js';
import { configSchema, emptyConfig } from '../../../daemon/config/schema.js';

describe('changedAtNextStart', () => {
  it('names daemon.log and daemon.audit, not daemon.maxSessionsPerToken', () => {
    const edited = configSchema.parse({ daemon: { log: { maxBytes: 4096 }, audit: { keep: 1 }, maxSessionsPerToken: 4 } });
    assert.deepEqual(emptyConfig.daemon.log, { maxBytes: 10 * 1024 * 1024, keep: 3 });
    assert.equal(emptyConfig.daemon.maxSessionsPerToken, 32);
    assert.deepEqual(changedAtNextStart(emptyConfig, edited), ['daemon.audit', 'daemon.log']);
    assert.deepEqual(changedAtNextStart(emptyConfig, configSchema.parse({ daemon: { maxSessionsPerToken: 4 } })), []);
  });

  it('refuses a session cap below 1 and a log cap below 4 KiB, naming the path', () => {
    const bad = configSchema.safeParse({ daemon: { maxSessionsPerToken: 0, log: { maxBytes: 100 } } });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => i.path.join('.')).sort(), ['daemon.log.maxBytes', 'daemon.maxSessionsPerToken']);
  });
});
