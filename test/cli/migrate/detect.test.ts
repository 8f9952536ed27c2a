/** What mcpd migrate takes for a secret by a value's shape or a variable's name, and why it leaves the rest. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge } from '../../../cli/migrate/detect.js';

const jwt = [{ alg: 'HS256', typ: 'JWT' }, { sub: '1234567890', name: 'someone' }].map((part) => Buffer.from(JSON.stringify(part)).toString('base64url')).join('.') + '.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c';

describe('migrate detect', () => {
  it('a credential by the value\'s shape, whatever the variable is called', () => {
    const cases: Array<[string, string, string]> = [
      ['DB', 'postgresql://admin:pw@db.internal:5432/app', 'a URL with a password in it'],
      ['CACHE', 'redis://:s3cret@cache:6379/0', 'a URL with a password in it'],
      ['MONGO', 'mongodb://app:hunter2@h1:27017,h2:27017/app?replicaSet=rs0', 'a URL with a password in it'],
      ['CONN', 'host=db user=app password=hunter2 dbname=app', 'a connection string with a password in it'],
      ['MSSQL', 'Server=db;Database=app;User Id=app;Pwd=hunter2;', 'a connection string with a password in it'],
      ['HEADER', `Bearer ${jwt}`, 'a JSON Web Token'],
      ['X', jwt, 'a JSON Web Token'],
      ['NOTIFY', 'https://hooks.slack.com/services/T0000000/B0000000/XXXXXXXXXXXXXXXXXXXXXXXX', 'a webhook URL'],
      ['ALERTS', 'https://discord.com/api/webhooks/123456789012345678/abcdefABCDEF', 'a webhook URL'],
      ['FEED', 'https://api.example.invalid/feed?format=json&token=abc123', 'a URL with a credential in its query (token=)'],
      ['SIGNED', 'https://bucket.example.invalid/object?X-Amz-Signature=0a1b2c', 'a URL with a credential in its query (X-Amz-Signature=)'],
      ['HOOK', 'https://example.invalid/hooks/catch/q8Zr3kLm9TxYv2Wp5NsB7', 'a URL with a token in its path'],
      ['GH', 'ghp_abcdefghijklmnopqrstuvwxyz0123456789', 'the shape of a known API key or token'],
    ];
    for (const [variable, value, why] of cases) assert.deepEqual(judge(variable, value), { secret: true, why }, `${variable}=${value}`);
  });

  it('a credential by the variable\'s name: DSN, DATABASE_URL, COOKIE, SESSION, BEARER, AUTH, CREDENTIAL, PRIVATE', () => {
    for (const [variable, value] of [['SENTRY_DSN', 'https://abc@o1.ingest.example.invalid/1'], ['DATABASE_URL', 'postgres://localhost/app'], ['databaseUrl', 'sqlite:///tmp/x.db'], ['SESSION_COOKIE', 'a=b; c=d'], ['SESSION', 's%3Aabc.def'], ['BEARER', 'opaque-token'], ['AUTH', 'basic-xyz'], ['GOOGLE_CREDENTIALS', '{"type":"service_account"}'], ['PRIVATE_KEY', '-----BEGIN KEY-----'], ['DB_PWD', 'hunter22'], ['PIN_PASSWORD', '12345678']]) {
      assert.deepEqual(judge(variable!, value!), { secret: true, why: 'its name says it holds a credential' }, `${variable}=${value}`);
    }
  });

  it('a setting is left, each with why: a URL without credentials, a switch, a name that is about the credential', () => {
    const cases: Array<[string, string, string]> = [
      ['API_BASE', 'https://api.example.invalid/v1/projects/my-long-project-name-2024', 'looks like a setting, not a secret'],
      ['NODE_ENV', 'production', 'looks like a setting, not a secret'],
      ['VERSION', '1.2.3', 'looks like a setting, not a secret'],
      ['HOSTNAME', 'api.example.invalid', 'looks like a setting, not a secret'],
      ['PWD', '/home/u', 'looks like a setting, not a secret'],
      ['SESSION_TIMEOUT', '30m', 'a switch, a number or a duration, not a secret'],
      ['USE_AUTH', 'true', 'a switch, a number or a duration, not a secret'],
      ['KEY_FILE', '/etc/app/key.pem', 'its name ends in FILE: a setting, not a secret'],
      ['AUTH_URL', 'https://auth.example.invalid/oauth', 'its name ends in URL: a setting, not a secret'],
      ['COOKIE_DOMAIN', 'example.invalid', 'its name ends in DOMAIN: a setting, not a secret'],
      ['API_KEY', '', 'empty'],
    ];
    for (const [variable, value, why] of cases) assert.deepEqual(judge(variable, value), { secret: false, why }, `${variable}=${value}`);
  });

  it('three dotted segments are a JWT only when the first is a JSON header with "alg"', () => {
    const notHeader = `${Buffer.from('{"typ":"JWT"}').toString('base64url')}.eyJzdWIiOiIxIn0.c2ln`;
    assert.equal(judge('X', notHeader).secret, false);
    assert.equal(judge('X', 'abcd.efgh.ijkl').secret, false);
  });
});
