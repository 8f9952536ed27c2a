/**
 * Where a well-known service makes the token its MCP server takes, for the hint of
 * AUTH_TOKEN_NEEDED (a server that answers 401 and offers no OAuth). One line per service, as
 * its own settings pages name the steps.
 *
 * The host is read the way fetch reads it (WHATWG URL) and matched on whole labels:
 * `mcp.github.com` is GitHub, `evilgithub.com` and `github.com.evil.example` are not. A wrong
 * match would only send the user to the wrong settings page, but it is still a wrong answer.
 */

interface Service {
  /** Registrable domains: the host itself or any host below it. */
  readonly domains: readonly string[];
  readonly hint: string;
}

const SERVICES: readonly Service[] = [
  { domains: ['github.com', 'githubcopilot.com'], hint: 'GitHub: Settings → Developer settings → Personal access tokens (fine-grained, with access to the repositories the server should reach)' },
  { domains: ['gitlab.com'], hint: 'GitLab: your avatar → Edit profile → Access tokens → Add new token (scope api, or read_api to read only)' },
  { domains: ['linear.app'], hint: 'Linear: Settings → Account → Security & access → Personal API keys → New API key' },
  { domains: ['notion.com', 'notion.so'], hint: 'Notion: Settings → Connections → Develop or manage integrations → New integration, then copy its Internal Integration Secret (and share the pages with the integration)' },
  { domains: ['sentry.io', 'sentry.dev'], hint: 'Sentry: User settings → Personal Tokens → Create New Token (or Organization settings → Custom Integrations for an organization token)' },
  { domains: ['slack.com'], hint: 'Slack: your app at api.slack.com/apps → OAuth & Permissions → Bot User OAuth Token (install the app to the workspace first)' },
  { domains: ['atlassian.com', 'atlassian.net', 'jira.com'], hint: 'Jira/Atlassian: id.atlassian.com → Security → Create and manage API tokens → Create API token' },
  { domains: ['cloudflare.com'], hint: 'Cloudflare: dashboard → My Profile → API Tokens → Create Token' },
  { domains: ['datadoghq.com', 'datadoghq.eu', 'ddog-gov.com'], hint: 'Datadog: Organization Settings → API Keys, and Application Keys for the application key' },
  { domains: ['pagerduty.com'], hint: 'PagerDuty: My Profile → User Settings → Create API User Token (or Integrations → API Access Keys for an account key)' },
  { domains: ['grafana.net', 'grafana.com'], hint: 'Grafana: Administration → Users and access → Service accounts → Add service account, then Add service account token' },
  { domains: ['honeycomb.io'], hint: 'Honeycomb: Account → Team Settings → API Keys → Management Keys, with the Model Context Protocol scopes (the token is KEY_ID:SECRET)' },
];

/** Where the token for the service at `url` is made, or undefined for a host this does not know (or no URL). */
export function tokenHint(url: string): string | undefined {
  let host: string;
  try {
    host = new URL(url).hostname;
  } catch {
    return undefined;
  }
  // `github.com.` is the same name as `github.com` to DNS, and so to fetch.
  if (host.endsWith('.')) host = host.slice(0, -1);
  return SERVICES.find((s) => s.domains.some((domain) => host === domain || host.endsWith(`.${domain}`)))?.hint;
}
