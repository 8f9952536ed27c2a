/**
 * The hint that says where a well-known service makes its token: the host is read as fetch
 * reads it (WHATWG URL) and matched on whole labels, checked against an oracle of its own on
 * URLs built to look like the services' hosts.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { tokenHint } from '../../../daemon/remote/token-hints.js';

const GITHUB = tokenHint('https://github.com/')!;

describe('tokenHint', () => {
  it('names the service of each well-known MCP host', () => {
    const cases: Array<[string, RegExp]> = [
      ['https://api.githubcopilot.com/mcp/', /^GitHub: Settings → Developer settings → Personal access tokens/],
      ['https://mcp.github.com/mcp', /^GitHub: /],
      ['https://GitHub.COM./x', /^GitHub: /],
      ['https://gitlab.com/api/v4/mcp', /^GitLab: /],
      ['https://mcp.linear.app/mcp', /^Linear: Settings → Account → Security & access → Personal API keys/],
      ['https://mcp.notion.com/mcp', /^Notion: /],
      ['https://mcp.sentry.dev/mcp', /^Sentry: /],
      ['https://mcp.slack.com/mcp', /^Slack: /],
      ['https://mcp.atlassian.com/v1/sse', /^Jira\/Atlassian: id\.atlassian\.com → Security/],
      ['https://bindings.mcp.cloudflare.com/sse', /^Cloudflare: dashboard → My Profile → API Tokens/],
      ['https://mcp.datadoghq.eu/api/mcp', /^Datadog: /],
      ['https://mcp.pagerduty.com/mcp', /^PagerDuty: /],
      ['https://my-stack.grafana.net/mcp', /^Grafana: /],
      ['https://mcp.eu1.honeycomb.io/mcp', /^Honeycomb: /],
    ];
    for (const [url, hint] of cases) assert.match(tokenHint(url) ?? '(none)', hint, url);
  });

  it('knows nothing of look-alikes, other hosts and what is not a URL', () => {
    for (const url of [
      'https://evilgithub.com/mcp', 'https://github.com.evil.example/mcp', 'https://github.com@evil.example/',
      'https://evil.example\\@github.com/', 'https://evil.example/github.com', 'https://evil.example/?u=https://github.com',
      'https://xn--github-.com/', 'https://mcp.corp.example/mcp', 'http://127.0.0.1:8080/mcp', 'http://[::1]/mcp', 'github.com', '',
    ]) assert.equal(tokenHint(url), undefined, url);
  });

  it('gives the GitHub hint exactly when WHATWG URL reads a host that is github.com or below it (property)', () => {
    // Pieces that confuse a matcher reading the text rather than the parsed host.
    const piece = fc.constantFrom('github.com', 'githubcom', 'evil', 'mcp', '.', '@', '\\', '/', ':443', '#', '?', '%2e', 'GITHUB.COM', '.', '-', 'xn--');
    const url = fc.array(piece, { minLength: 1, maxLength: 8 }).map((parts) => `https://${parts.join('')}`);
    fc.assert(fc.property(fc.oneof(url, fc.webUrl(), fc.domain().map((d) => `https://${d}.github.com/mcp`)), (text) => {
      let host: string | undefined;
      try {
        host = new URL(text).hostname;
      } catch {
        host = undefined;
      }
      // The oracle: the host's last two labels, a trailing dot aside.
      const labels = host?.replace(/\.$/, '').split('.') ?? [];
      const isGithub = labels.length >= 2 && labels.at(-2) === 'github' && labels.at(-1) === 'com';
      assert.equal(tokenHint(text) === GITHUB, isGithub, `${text} → host ${host}`);
    }), { numRuns: 2000 });
  });
});
