import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { explainAuthError, tokenNeeded } from '../../../../daemon/remote/oauth/auth-errors.js';

describe('sign-in errors', () => {
  it('AUTH_TOKEN_NEEDED names the command, and for a well-known service where its token is made', () => {
    const github = tokenNeeded('github', 'https://api.githubcopilot.com/mcp/');
    assert.equal(github.code, 'AUTH_TOKEN_NEEDED');
    assert.equal(github.message, 'server "github": https://api.githubcopilot.com/mcp/ wants a token and offers no OAuth sign-in');
    assert.match(github.hint ?? '', /^run mcpd auth login github to give mcpd the token \(kept in the default store\); GitHub: Settings → Developer settings → Personal access tokens/);
    const other = tokenNeeded('internal', 'https://mcp.corp.example/mcp');
    assert.equal(other.hint, 'run mcpd auth login internal to give mcpd the token (kept in the default store)');
  });

  it('an authorization server\'s refusal names the step and its error code, not its text', () => {
    const refusal = Object.assign(new Error('the server\'s own words <script>'), { errorCode: 'invalid_client_metadata' });
    const e = explainAuthError(refusal, 'notion', 'registration', 'https://mcp.notion.com/mcp');
    assert.equal(e.code, 'OAUTH_FAILED');
    assert.equal(e.message, 'server "notion": the authorization server refused the registration (invalid_client_metadata)');
    assert.match(e.hint ?? '', /set oauth\.clientId \(and oauth\.clientSecret\) in mcpServers\.notion/);
    assert.ok(!e.message.includes('own words'));
  });
});
